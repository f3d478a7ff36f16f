// Source ops: identifiers, attrs, caps and platform, as the Go client writes
// them (reference/llb.md §7).
#include "kiln/llb/source.h"

#include <gtest/gtest.h>

#include "graph_util.h"

namespace kiln::llb {
namespace {

using testing::Graph;
using testing::MarshalError;
using testing::MarshalOk;

const pb::SourceOp& Src(const Graph& g) { return g.Result().source(); }

TEST(ImageSource, NormalizedIdentifierPlatformAndConstraints) {
  Graph g = MarshalOk(Image("alpine"));
  ASSERT_EQ(g.ops.size(), 2u);
  const pb::Op& op = g.Result();
  EXPECT_EQ(op.source().identifier(),
            "docker-image://docker.io/library/alpine:latest");
  EXPECT_TRUE(op.source().attrs().empty());
  ASSERT_TRUE(op.has_platform());
  EXPECT_EQ(op.platform().os(), "linux");
  EXPECT_EQ(op.platform().architecture(), "amd64");
  ASSERT_TRUE(op.has_constraints());
  EXPECT_EQ(op.constraints().filter_size(), 0);
  EXPECT_EQ(op.inputs_size(), 0);
  EXPECT_EQ(g.ResultMetadata().caps().size(), 1u);
  EXPECT_TRUE(g.HasCap(0, "source.image"));
}

TEST(ImageSource, DigestMatchesProtobufGo) {
  // reference/llb.md §5 vector (b): what a HEAD Go client sends.
  Graph g = MarshalOk(Image("alpine"));
  EXPECT_EQ(g.digests[0].str(),
            "sha256:"
            "a7f9733e307dd352c82d43053b783dd17bb2ec2c36214908ce393e41545c8b51");
  MarshalOptions gogo = testing::Amd64();
  gogo.encoding = OpEncoding::kFieldNumber;
  EXPECT_EQ(MarshalOk(Image("alpine"), gogo).digests[0].str(),
            "sha256:"
            "665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7");
}

TEST(ImageSource, Options) {
  Graph pull = MarshalOk(
      Image("alpine:3.20", {.resolve_mode = ResolveMode::kForcePull,
                            .record_type = "internal",
                            .layer_limit = 2,
                            .checksum = "sha256:" + std::string(64, 'c')}));
  const auto& attrs = Src(pull).attrs();
  EXPECT_EQ(Src(pull).identifier(),
            "docker-image://docker.io/library/alpine:3.20");
  testing::ExpectAttrs(attrs,
                       {
                           {"image.resolvemode", "pull"},
                           {"image.recordtype", "internal"},
                           {"image.layerlimit", "2"},
                           {"image.checksum", "sha256:" + std::string(64, 'c')},
                       });
  testing::ExpectCaps(pull, 0,
                      {"source.image", "source.image.resolvemode",
                       "source.image.layerlimit", "source.image.checksum"});
  // "local" is written but needs no cap (only the forced pull is enforced).
  Graph local =
      MarshalOk(Image("alpine", {.resolve_mode = ResolveMode::kPreferLocal}));
  EXPECT_EQ(Src(local).attrs().at("image.resolvemode"), "local");
  EXPECT_FALSE(local.HasCap(0, "source.image.resolvemode"));
}

TEST(ImageSource, PlatformOptionOverridesAndSticks) {
  Platform arm{"linux", "arm64", "", "", {}};
  State s = Image("alpine", {.op = {.platform = arm}});
  ASSERT_TRUE(s.GetPlatform().has_value());
  EXPECT_EQ(s.GetPlatform()->architecture, "arm64");
  EXPECT_EQ(MarshalOk(s).Result().platform().architecture(), "arm64");
}

TEST(ImageSource, InvalidReferenceFailsAtMarshal) {
  Status s = MarshalError(Image("Not/Valid:Ref!"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("Not/Valid"), std::string::npos) << s.message();
}

TEST(OciLayoutSource, RequiresDigestKeepsReference) {
  std::string ref = "myapp@sha256:" + std::string(64, 'd');
  Graph g = MarshalOk(OciLayout(
      ref, {.session_id = "sess", .store_id = "store", .layer_limit = 1}));
  EXPECT_EQ(Src(g).identifier(), "oci-layout://" + ref);
  EXPECT_EQ(Src(g).attrs().at("oci.session"), "sess");
  EXPECT_EQ(Src(g).attrs().at("oci.store"), "store");
  EXPECT_EQ(Src(g).attrs().at("oci.layerlimit"), "1");
  EXPECT_TRUE(g.Result().has_platform());
  EXPECT_TRUE(g.HasCap(0, "source.ocilayout"));
  EXPECT_NE(MarshalError(OciLayout("myapp:1.0")).message().find("no digest"),
            std::string::npos);
}

TEST(LocalSource, AttrsAndCaps) {
  Graph g = MarshalOk(Local("context", {.include_patterns = {"src/", "*.go"},
                                        .exclude_patterns = {"vendor"},
                                        .follow_paths = {"a<b"},
                                        .shared_key_hint = "ctx",
                                        .differ = LocalDiffer::kNone,
                                        .differ_required = true,
                                        .metadata_transfer = true}));
  const auto& a = Src(g).attrs();
  EXPECT_EQ(Src(g).identifier(), "local://context");
  EXPECT_EQ(a.at("local.includepattern"), R"(["src/","*.go"])");
  EXPECT_EQ(a.at("local.excludepatterns"), R"(["vendor"])");
  EXPECT_EQ(a.at("local.followpaths"),
            R"(["a\u003cb"])");  // Go's HTML-safe JSON
  testing::ExpectAttrs(a, {
                              {"local.sharedkeyhint", "ctx"},
                              {"local.differ", "none"},
                              {"local.metadatatransfer", "true"},
                          });
  EXPECT_FALSE(a.contains("local.unique"));  // none given: omitted
  EXPECT_FALSE(g.Result().has_platform());
  EXPECT_TRUE(g.Result().has_constraints());
  testing::ExpectCaps(g, 0,
                      {"source.local", "source.local.includepatterns",
                       "source.local.excludepatterns",
                       "source.local.followpaths", "source.local.sharedkeyhint",
                       "source.local.differ", "source.local.metadatatransfer"});
}

TEST(LocalSource, SessionOrUniqueId) {
  Graph session = MarshalOk(Local("ctx", {.session_id = "abc"}));
  EXPECT_EQ(Src(session).attrs().at("local.session"), "abc");
  EXPECT_FALSE(Src(session).attrs().contains("local.unique"));
  EXPECT_TRUE(session.HasCap(0, "source.local.sessionid"));

  MarshalOptions o = testing::Amd64();
  o.local_unique_id = "u1";
  Graph marshal_unique = MarshalOk(Local("ctx"), o);
  EXPECT_EQ(Src(marshal_unique).attrs().at("local.unique"), "u1");
  EXPECT_TRUE(marshal_unique.HasCap(0, "source.local.unique"));
  Graph own_unique = MarshalOk(Local("ctx", {.unique_id = "u2"}), o);
  EXPECT_EQ(Src(own_unique).attrs().at("local.unique"), "u2");
  // A session wins over any unique id.
  EXPECT_FALSE(Src(MarshalOk(Local("ctx", {.session_id = "s"}), o))
                   .attrs()
                   .contains("local.unique"));
}

TEST(GitSource, HttpsUrl) {
  Graph g = MarshalOk(Git("https://github.com/moby/buildkit.git", "v0.11.6"));
  const auto& a = Src(g).attrs();
  EXPECT_EQ(Src(g).identifier(), "git://github.com/moby/buildkit.git#v0.11.6");
  testing::ExpectAttrs(
      a, {
             {"git.fullurl", "https://github.com/moby/buildkit.git"},
             {"git.authtokensecret", "GIT_AUTH_TOKEN"},
             {"git.authheadersecret", "GIT_AUTH_HEADER"},
         });
  EXPECT_FALSE(a.contains("git.mountsshsock"));
  EXPECT_TRUE(g.HasCap(0, "source.git"));
  EXPECT_TRUE(g.HasCap(0, "source.git.fullurl"));
  EXPECT_FALSE(g.HasCap(0, "source.git.httpauth"));  // defaults need no cap
  EXPECT_FALSE(g.Result().has_platform());
}

TEST(GitSource, ScpStyleIsSsh) {
  Graph g = MarshalOk(Git("git@github.com:moby/buildkit.git", "main"));
  EXPECT_EQ(Src(g).identifier(), "git://github.com/moby/buildkit.git#main");
  EXPECT_EQ(Src(g).attrs().at("git.fullurl"),
            "git@github.com:moby/buildkit.git");
  EXPECT_EQ(Src(g).attrs().at("git.mountsshsock"), "default");
  EXPECT_FALSE(Src(g).attrs().contains("git.knownsshhosts"));  // no keyscan
  EXPECT_TRUE(g.HasCap(0, "source.git.knownsshhosts"));
  EXPECT_TRUE(g.HasCap(0, "source.git.mountsshsock"));
  // Same id as the https remote of the same repository.
  EXPECT_EQ(Src(g).identifier(),
            Src(MarshalOk(Git("https://github.com/moby/buildkit.git", "main")))
                .identifier());
}

TEST(GitSource, BareHostPathAndOptions) {
  Graph g = MarshalOk(Git("github.com/x/y", "v1:sub/../dir/",
                          {.keep_git_dir = true,
                           .auth_token_secret = "TOKEN",
                           .known_ssh_hosts = "",
                           .checksum = "abc123",
                           .skip_submodules = true,
                           .mtime = "commit"}));
  const auto& a = Src(g).attrs();
  EXPECT_EQ(Src(g).identifier(), "git://github.com/x/y#v1:dir");
  testing::ExpectAttrs(a, {
                              {"git.fullurl", "https://github.com/x/y"},
                              {"git.keepgitdir", "true"},
                              {"git.authtokensecret", "TOKEN"},
                              {"git.checksum", "abc123"},
                              {"git.skipsubmodules", "true"},
                              {"git.mtime", "commit"},
                          });
  testing::ExpectCaps(
      g, 0,
      {"source.git.keepgitdir", "source.git.httpauth", "source.git.checksum",
       "source.git.skipsubmodules", "source.git.mtime"});
  EXPECT_EQ(
      Src(MarshalOk(Git("https://h/r.git", "", {.subdir = "d"}))).identifier(),
      "git://h/r.git#:d");
  EXPECT_EQ(MarshalError(Git("ftp://h/r.git")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MarshalError(Git("https://h/r.git", "", {.mtime = "now"})).code(),
            StatusCode::kInvalidArgument);
}

TEST(HttpSource, AttrsAndCaps) {
  Graph g = MarshalOk(Http("https://example.com/a.tar.gz",
                           {.checksum = "sha256:" + std::string(64, 'e'),
                            .filename = "a.tgz",
                            .perm = 0644,
                            .uid = 1000,
                            .gid = 1001,
                            .auth_header_secret = "HDR",
                            .accept = "application/json",
                            .user_agent = "kiln"}));
  const auto& a = Src(g).attrs();
  EXPECT_EQ(Src(g).identifier(), "https://example.com/a.tar.gz");
  testing::ExpectAttrs(a,
                       {
                           {"http.checksum", "sha256:" + std::string(64, 'e')},
                           {"http.filename", "a.tgz"},
                           {"http.perm", "0644"},
                           {"http.uid", "1000"},
                           {"http.gid", "1001"},
                           {"http.authheadersecret", "HDR"},
                           {"http.header.accept", "application/json"},
                           {"http.header.user-agent", "kiln"},
                       });
  testing::ExpectCaps(
      g, 0,
      {"source.http", "source.http.checksum", "source.http.perm",
       "soruce.http.uidgid", "source.http.auth", "source.http.header"});
  EXPECT_FALSE(g.Result().has_platform());
  EXPECT_EQ(MarshalError(Http("ftp://example.com/x")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MarshalError(Http("https://e/x", {.checksum = "md5:x"})).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::llb
