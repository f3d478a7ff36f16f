#include "kiln/llb/caps.h"

namespace kiln::llb::caps {

const CapSet& DefaultEngineCaps() {
  static const CapSet* caps = new CapSet{
      std::string(kSourceImage),
      std::string(kSourceLocal),
      std::string(kSourceLocalUnique),
      std::string(kSourceLocalSessionId),
      std::string(kSourceLocalIncludePatterns),
      std::string(kSourceLocalFollowPaths),
      std::string(kSourceLocalExcludePatterns),
      std::string(kSourceLocalSharedKeyHint),
      std::string(kSourceGit),
      std::string(kSourceGitKeepDir),
      std::string(kSourceGitFullUrl),
      std::string(kSourceHttp),
      std::string(kSourceHttpChecksum),
      std::string(kSourceHttpPerm),
      std::string(kSourceHttpUidGid),
      std::string(kBuildOpLlbFilename),
      std::string(kExecMetaBase),
      std::string(kExecMetaProxy),
      std::string(kExecMountBind),
      std::string(kExecMountCache),
      std::string(kExecMountCacheSharing),
      std::string(kExecMountSelector),
      std::string(kExecMountTmpfs),
      std::string(kExecMountSecret),
      std::string(kConstraints),
      std::string(kPlatform),
      std::string(kMetaIgnoreCache),
      std::string(kMetaDescription),
      std::string(kMetaExportCache),
  };
  return *caps;
}

const CapSet& AllLlbCaps() {
  static const CapSet* caps = new CapSet{
      std::string(kSourceImage), std::string(kSourceImageResolveMode),
      std::string(kSourceImageLayerLimit), std::string(kSourceImageChecksum),
      std::string(kSourceImageBlob), std::string(kSourceOciLayout),
      std::string(kSourceLocal), std::string(kSourceLocalUnique),
      std::string(kSourceLocalSessionId), std::string(kSourceLocalIncludePatterns),
      std::string(kSourceLocalFollowPaths), std::string(kSourceLocalExcludePatterns),
      std::string(kSourceLocalSharedKeyHint), std::string(kSourceLocalDiffer),
      std::string(kSourceLocalMetadataTransfer), std::string(kSourceGit),
      std::string(kSourceGitKeepDir), std::string(kSourceGitFullUrl),
      std::string(kSourceGitHttpAuth), std::string(kSourceGitKnownSshHosts),
      std::string(kSourceGitMountSshSock), std::string(kSourceGitSubdir),
      std::string(kSourceGitChecksum), std::string(kSourceGitSkipSubmodules),
      std::string(kSourceGitSignatureVerify), std::string(kSourceGitMTime),
      std::string(kSourceGitFetchByCommit), std::string(kSourceGitBundle),
      std::string(kSourceGitCheckoutBundle), std::string(kSourceHttp),
      std::string(kSourceHttpAuth), std::string(kSourceHttpChecksum),
      std::string(kSourceHttpPerm), std::string(kSourceHttpUidGid),
      std::string(kSourceHttpHeader), std::string(kSourceHttpSignatureVerify),
      std::string(kBuildOpLlbFilename), std::string(kExecMetaBase),
      std::string(kExecMetaCgroupParent), std::string(kExecMetaNetwork),
      std::string(kExecMetaProxy), std::string(kExecMetaNetworkProxy),
      std::string(kExecMetaSecurity), std::string(kExecMetaSecurityDeviceWhitelistV1),
      std::string(kExecMetaSetsDefaultPath), std::string(kExecMetaUlimit),
      std::string(kExecMetaCdi), std::string(kExecMetaLinuxResources),
      std::string(kExecMountBind), std::string(kExecMountBindReadWriteNoOutput),
      std::string(kExecMountCache), std::string(kExecMountCacheSharing),
      std::string(kExecMountSelector), std::string(kExecMountTmpfs),
      std::string(kExecMountTmpfsSize), std::string(kExecMountSecret),
      std::string(kExecMountSsh), std::string(kExecMountContentCache),
      std::string(kExecCgroupsMounted), std::string(kExecSecretEnv),
      std::string(kExecValidExitCode), std::string(kFileBase),
      std::string(kFileRmWildcard), std::string(kFileRmNoFollowSymlink),
      std::string(kFileCopyIncludeExcludePatterns), std::string(kFileCopyRequiredPaths),
      std::string(kFileCopyAlwaysReplaceExistingDestPaths), std::string(kFileSymlinkCreate),
      std::string(kConstraints), std::string(kPlatform),
      std::string(kMetaIgnoreCache), std::string(kMetaDescription),
      std::string(kMetaExportCache), std::string(kMergeOp),
      std::string(kDiffOp), std::string(kPassthroughOp),
  };
  return *caps;
}

}  // namespace kiln::llb::caps
