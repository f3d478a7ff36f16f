// LLB capability ids (BuildKit's solver/pb/caps.go). An op records the caps it
// needs in OpMetadata.caps; an engine advertises the caps it has; a client
// must only send what the engine lists. Spelling is exact, typos included.
#ifndef KILN_LLB_CAPS_H_
#define KILN_LLB_CAPS_H_

#include <set>
#include <string>
#include <string_view>

namespace kiln::llb::caps {

// Sources.
inline constexpr std::string_view kSourceImage = "source.image";
inline constexpr std::string_view kSourceImageResolveMode = "source.image.resolvemode";
inline constexpr std::string_view kSourceImageLayerLimit = "source.image.layerlimit";
inline constexpr std::string_view kSourceImageChecksum = "source.image.checksum";
inline constexpr std::string_view kSourceImageBlob = "source.imageblob";
inline constexpr std::string_view kSourceOciLayout = "source.ocilayout";
inline constexpr std::string_view kSourceLocal = "source.local";
inline constexpr std::string_view kSourceLocalUnique = "source.local.unique";
inline constexpr std::string_view kSourceLocalSessionId = "source.local.sessionid";
inline constexpr std::string_view kSourceLocalIncludePatterns = "source.local.includepatterns";
inline constexpr std::string_view kSourceLocalFollowPaths = "source.local.followpaths";
inline constexpr std::string_view kSourceLocalExcludePatterns = "source.local.excludepatterns";
inline constexpr std::string_view kSourceLocalSharedKeyHint = "source.local.sharedkeyhint";
inline constexpr std::string_view kSourceLocalDiffer = "source.local.differ";
inline constexpr std::string_view kSourceLocalMetadataTransfer = "source.local.metadatatransfer";
inline constexpr std::string_view kSourceGit = "source.git";
inline constexpr std::string_view kSourceGitKeepDir = "source.git.keepgitdir";
inline constexpr std::string_view kSourceGitFullUrl = "source.git.fullurl";
inline constexpr std::string_view kSourceGitHttpAuth = "source.git.httpauth";
inline constexpr std::string_view kSourceGitKnownSshHosts = "source.git.knownsshhosts";
inline constexpr std::string_view kSourceGitMountSshSock = "source.git.mountsshsock";
inline constexpr std::string_view kSourceGitSubdir = "source.git.subdir";
inline constexpr std::string_view kSourceGitChecksum = "source.git.checksum";
inline constexpr std::string_view kSourceGitSkipSubmodules = "source.git.skipsubmodules";
inline constexpr std::string_view kSourceGitSignatureVerify = "source.git.signatureverify";
inline constexpr std::string_view kSourceGitMTime = "source.git.mtime";
inline constexpr std::string_view kSourceGitFetchByCommit = "source.git.fetchbycommit";
inline constexpr std::string_view kSourceGitBundle = "source.git.bundle";
inline constexpr std::string_view kSourceGitCheckoutBundle = "source.git.checkoutbundle";
inline constexpr std::string_view kSourceHttp = "source.http";
inline constexpr std::string_view kSourceHttpAuth = "source.http.auth";
inline constexpr std::string_view kSourceHttpChecksum = "source.http.checksum";
inline constexpr std::string_view kSourceHttpPerm = "source.http.perm";
inline constexpr std::string_view kSourceHttpUidGid = "soruce.http.uidgid";  // sic
inline constexpr std::string_view kSourceHttpHeader = "source.http.header";
inline constexpr std::string_view kSourceHttpSignatureVerify = "source.http.signatureverify";
inline constexpr std::string_view kBuildOpLlbFilename = "source.buildop.llbfilename";

// Exec.
inline constexpr std::string_view kExecMetaBase = "exec.meta.base";
inline constexpr std::string_view kExecMetaCgroupParent = "exec.meta.cgroup.parent";
inline constexpr std::string_view kExecMetaNetwork = "exec.meta.network";
inline constexpr std::string_view kExecMetaProxy = "exec.meta.proxyenv";
inline constexpr std::string_view kExecMetaNetworkProxy = "exec.meta.network.proxy";
inline constexpr std::string_view kExecMetaSecurity = "exec.meta.security";
inline constexpr std::string_view kExecMetaSecurityDeviceWhitelistV1 =
    "exec.meta.security.devices.v1";
inline constexpr std::string_view kExecMetaSetsDefaultPath = "exec.meta.setsdefaultpath";
inline constexpr std::string_view kExecMetaUlimit = "exec.meta.ulimit";
inline constexpr std::string_view kExecMetaCdi = "exec.meta.cdi";
inline constexpr std::string_view kExecMetaLinuxResources = "exec.meta.linux.resources";
inline constexpr std::string_view kExecMountBind = "exec.mount.bind";
inline constexpr std::string_view kExecMountBindReadWriteNoOutput =
    "exec.mount.bind.readwrite-nooutput";
inline constexpr std::string_view kExecMountCache = "exec.mount.cache";
inline constexpr std::string_view kExecMountCacheSharing = "exec.mount.cache.sharing";
inline constexpr std::string_view kExecMountSelector = "exec.mount.selector";
inline constexpr std::string_view kExecMountTmpfs = "exec.mount.tmpfs";
inline constexpr std::string_view kExecMountTmpfsSize = "exec.mount.tmpfs.size";
inline constexpr std::string_view kExecMountSecret = "exec.mount.secret";
inline constexpr std::string_view kExecMountSsh = "exec.mount.ssh";
inline constexpr std::string_view kExecMountContentCache = "exec.mount.cache.content";
inline constexpr std::string_view kExecCgroupsMounted = "exec.cgroup";
inline constexpr std::string_view kExecSecretEnv = "exec.secretenv";
inline constexpr std::string_view kExecValidExitCode = "exec.validexitcode";

// File.
inline constexpr std::string_view kFileBase = "file.base";
inline constexpr std::string_view kFileRmWildcard = "file.rm.wildcard";
inline constexpr std::string_view kFileRmNoFollowSymlink = "file.rm.nofollowsymlink";
inline constexpr std::string_view kFileCopyIncludeExcludePatterns =
    "file.copy.includeexcludepatterns";
inline constexpr std::string_view kFileCopyRequiredPaths = "file.copy.requiredpaths";
inline constexpr std::string_view kFileCopyAlwaysReplaceExistingDestPaths =
    "file.copy.alwaysreplaceexistingdestpaths";
inline constexpr std::string_view kFileSymlinkCreate = "file.symlink.create";

// Graph.
inline constexpr std::string_view kConstraints = "constraints";
inline constexpr std::string_view kPlatform = "platform";
inline constexpr std::string_view kMetaIgnoreCache = "meta.ignorecache";
inline constexpr std::string_view kMetaDescription = "meta.description";
inline constexpr std::string_view kMetaExportCache = "meta.exportcache";
inline constexpr std::string_view kMergeOp = "mergeop";
inline constexpr std::string_view kDiffOp = "diffop";
inline constexpr std::string_view kPassthroughOp = "passthroughop";

using CapSet = std::set<std::string, std::less<>>;

// What an engine that returns no cap list is assumed to support (the frozen
// default set of BuildKit's gateway client).
const CapSet& DefaultEngineCaps();

// Every LLB cap kiln knows (BuildKit HEAD's solver/pb/caps.go).
const CapSet& AllLlbCaps();

}  // namespace kiln::llb::caps

#endif  // KILN_LLB_CAPS_H_
