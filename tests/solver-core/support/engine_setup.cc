#include "engine_setup.h"

#include <unistd.h>

#include <utility>

#include "registry_fixture.h"
#include "test_util.h"

namespace kiln::solver::testing {

std::string RuncRequirementsMissing() {
  if (geteuid() != 0) return "needs root (overlay mounts and runc)";
  if (!HaveProgram("runc")) return "runc is not installed";
  if (access("/bin/busybox", X_OK) != 0) {
    return "busybox-static is not installed (/bin/busybox)";
  }
  return "";
}

Status MakeBusyboxRootfs(const std::string& root) {
  CommandResult r = RunShell("set -e; cd '" + root +
                             "'; mkdir -p bin etc tmp root home/builder; "
                             "chmod 1777 tmp; cp /bin/busybox bin/busybox; "
                             "for a in $(bin/busybox --list); do "
                             "[ $a = busybox ] || ln -s busybox bin/$a; done");
  if (r.exit_code != 0) {
    return InternalError("making a busybox rootfs in " + root + ": " +
                         r.output);
  }
  WriteFile(root + "/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\n"
            "builder:x:1000:1000::/home/builder:/bin/sh\n");
  WriteFile(root + "/etc/group",
            "root:x:0:\nbuilder:x:1000:\nextra:x:2000:builder\n");
  return Status::Ok();
}

Status CommitBusyboxSnapshot(
    Snapshotter& snapshots, const std::string& name,
    const std::function<void(const std::string& dir)>& extra) {
  const std::string active = name + "-active";
  KILN_ASSIGN_OR_RETURN(std::string dir, snapshots.Prepare(active, ""));
  KILN_RETURN_IF_ERROR(MakeBusyboxRootfs(dir));
  if (extra) extra(dir);
  return snapshots.Commit(name, active);
}

Result<TestStores> OpenStores(const std::string& root) {
  TestStores stores;
  KILN_ASSIGN_OR_RETURN(stores.content, ContentStore::Open(root + "/content"));
  KILN_ASSIGN_OR_RETURN(
      stores.images, ImageStore::Open(root + "/images", stores.content.get()));
  return stores;
}

Status ImportBusybox(const std::string& root, ContentStore& content,
                     ImageStore& images) {
  KILN_ASSIGN_OR_RETURN(std::string layout,
                        MakeBusyboxLayout(root + "/layout", "latest"));
  KILN_ASSIGN_OR_RETURN(oci::Descriptor desc, ImportLayout(layout, &content));
  desc.annotations.clear();
  return images.Put("docker.io/library/busybox:latest", desc);
}

Result<TestEngine> OpenTestEngine(const std::string& root, ImageStore& images,
                                  RegistryClient* registry) {
  TestEngine engine;
  KILN_ASSIGN_OR_RETURN(
      engine.snapshots,
      OpenSnapshotter(root + "/snapshots", SnapshotterKind::kAuto));
  KILN_ASSIGN_OR_RETURN(engine.executor,
                        RuncExecutor::Create({root + "/executor", ""}));
  SolverOptions options;
  options.root = root;
  options.images = &images;
  options.snapshots = engine.snapshots.get();
  options.executor = engine.executor.get();
  options.registry = registry;
  KILN_ASSIGN_OR_RETURN(engine.solver, Solver::Open(options));
  return engine;
}

}  // namespace kiln::solver::testing
