// Pieces of `kiln image` shared between its command files.
#ifndef KILN_CMD_KILN_IMAGE_OPS_H_
#define KILN_CMD_KILN_IMAGE_OPS_H_

#include <string>
#include <vector>

#include "cli_util.h"
#include "kiln/llb/platform.h"
#include "kiln/solver/image_store.h"
#include "state_root.h"

namespace kiln::cli {

// {"Name","Descriptor","Index"?,"Manifest","Config"} for one image, the
// documents embedded as stored.
Result<std::string> InspectJson(const solver::ImageStore& store,
                                const solver::ImageRecord& record,
                                const llb::Platform& platform);

// Commands that move images in and out of the store (image_transfer_cmd.cc).
int RunImageImport(Root& root, const std::vector<std::string>& args);
int RunImagePull(Root& root, const std::vector<std::string>& args);
int RunImagePush(Root& root, const std::vector<std::string>& args);
int RunImageSave(Root& root, const std::vector<std::string>& args);
int RunImageLoad(Root& root, const std::vector<std::string>& args);

}  // namespace kiln::cli

#endif  // KILN_CMD_KILN_IMAGE_OPS_H_
