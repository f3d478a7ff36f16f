// Status/Result, digests, platforms, image references.
#include <gtest/gtest.h>

#include "kiln/llb/digest.h"
#include "kiln/llb/platform.h"
#include "kiln/llb/reference.h"
#include "kiln/llb/status.h"
#include "solver/pb/ops.pb.h"

namespace kiln {
namespace {

Status Fails() { return NotFoundError("no such thing"); }
Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd: " + std::to_string(x));
  return x / 2;
}
Result<int> Quarter(int x) {
  KILN_ASSIGN_OR_RETURN(int h, Half(x));
  KILN_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}
Status Chain() {
  KILN_RETURN_IF_ERROR(Fails().WithContext("loading"));  // a temporary
  return Status::Ok();
}

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().ToString(), "ok");
  Status s = InvalidArgumentError("bad flag");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "invalid argument: bad flag");
  EXPECT_EQ(static_cast<int>(StatusCode::kUnauthenticated),
            16);  // = grpc::StatusCode
}

TEST(Status, ContextAndRanges) {
  Status s = NotFoundError("x").WithContext("reading Dockerfile");
  EXPECT_EQ(s.message(), "reading Dockerfile: x");
  EXPECT_TRUE(Status().WithContext("c").ok());
  Status r = InvalidArgumentError("unknown instruction")
                 .WithRange({"Dockerfile", 3, 5, 3, 9});
  ASSERT_EQ(r.ranges().size(), 1u);
  EXPECT_EQ(r.ToString(),
            "invalid argument: Dockerfile:3:5: unknown instruction");
  Status copy = r;
  EXPECT_EQ(copy, r);
  EXPECT_EQ(copy.ranges().size(), 1u);
}

TEST(Status, MacrosPropagate) {
  EXPECT_EQ(Chain().code(), StatusCode::kNotFound);
  EXPECT_EQ(Chain().message(), "loading: no such thing");
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "odd: 3");
  EXPECT_EQ(bad.value_or(-1), -1);
}

TEST(Digest, Sha256) {
  EXPECT_EQ(Digest::FromBytes("").str(),
            "sha256:"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Digest d = Digest::FromBytes("abc");
  EXPECT_EQ(d.algorithm(), "sha256");
  EXPECT_EQ(d.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, Parse) {
  std::string good = "sha256:" + std::string(64, 'a');
  ASSERT_TRUE(Digest::Parse(good).ok());
  EXPECT_EQ(Digest::Parse(good)->str(), good);
  EXPECT_FALSE(
      Digest::Parse("sha256:" + std::string(64, 'A')).ok());  // uppercase
  EXPECT_FALSE(Digest::Parse("sha256:" + std::string(63, 'a')).ok());  // length
  EXPECT_FALSE(Digest::Parse("md5:" + std::string(32, 'a')).ok());
  EXPECT_FALSE(Digest::Parse("nocolon").ok());
  auto err = Digest::Parse("sha256:xyz");
  EXPECT_NE(err.status().message().find("sha256:xyz"), std::string::npos);
}

TEST(Platform, ParseAndNormalize) {
  auto p = llb::ParsePlatform("linux/x86_64");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(llb::FormatPlatform(*p), "linux/amd64");
  EXPECT_EQ(llb::FormatPlatform(*llb::ParsePlatform("linux/aarch64")),
            "linux/arm64");
  EXPECT_EQ(llb::FormatPlatform(*llb::ParsePlatform("linux/arm64/v8")),
            "linux/arm64");
  EXPECT_EQ(llb::FormatPlatform(*llb::ParsePlatform("linux/arm")),
            "linux/arm/v7");
  EXPECT_EQ(llb::FormatPlatform(*llb::ParsePlatform("LINUX/AMD64")),
            "linux/amd64");
  EXPECT_FALSE(llb::ParsePlatform("linux/amd64/v2/extra").ok());
  EXPECT_FALSE(llb::ParsePlatform("").ok());
}

TEST(Platform, ProtoRoundTrip) {
  llb::Platform p{"windows", "amd64", "", "10.0.17763", {"win32k"}};
  pb::Platform out;
  llb::ToProto(p, &out);
  EXPECT_EQ(out.os(), "windows");
  EXPECT_EQ(out.osversion(), "10.0.17763");
  EXPECT_EQ(llb::FromProto(out), p);
}

TEST(Reference, Normalizes) {
  auto r = llb::ParseImageReference("alpine");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->domain, "docker.io");
  EXPECT_EQ(r->path, "library/alpine");
  EXPECT_EQ(llb::TagNameOnly(*r).String(), "docker.io/library/alpine:latest");
  EXPECT_EQ(llb::TagNameOnly(*r).FamiliarString(), "alpine:latest");

  auto local = llb::ParseImageReference("127.0.0.1:5000/app:1.0");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->domain, "127.0.0.1:5000");
  EXPECT_EQ(local->tag, "1.0");

  std::string dig = "sha256:" + std::string(64, 'b');
  auto pinned = llb::ParseImageReference("user/app@" + dig);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(llb::TagNameOnly(*pinned).String(), "docker.io/user/app@" + dig);
}

TEST(Reference, RejectsBadInput) {
  EXPECT_FALSE(llb::ParseImageReference("Alpine").ok());
  EXPECT_FALSE(llb::ParseImageReference("alpine:bad tag").ok());
  EXPECT_FALSE(llb::ParseImageReference("alpine@sha256:123").ok());
  EXPECT_FALSE(llb::ParseImageReference(std::string(64, 'a')).ok());
  EXPECT_FALSE(llb::ParseImageReference("").ok());
}

}  // namespace
}  // namespace kiln
