// kiln::recipe::Build end to end, against kiln::dockerfile::Build: recipes
// equivalent to Dockerfiles are built by a real solver (runc, busybox)
// behind an in-process BridgeServer, and must give the same files and the
// same image config. The config's `history` is not compared: its entries
// legitimately differ (created_by is each language's own text, and the
// comment names the frontend). Needs root and runc; skips otherwise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/dockerfile/frontend.h"
#include "kiln/recipe/frontend.h"
#include "recipe_fixture.h"

namespace kiln::recipe::testing {
namespace {

using Json = nlohmann::json;

// The image config without its history.
Json ComparableConfig(const BuildRun& run) {
  Json config = Json::parse(run.Config(), nullptr, false);
  EXPECT_FALSE(config.is_discarded()) << run.Config();
  if (config.is_object()) config.erase("history");
  return config;
}

class RecipeEquivalenceTest : public RecipeFrontendTest {
 protected:
  // Builds the Dockerfile and the recipe with the same opts and checks that
  // both succeed with the same `files` and config.
  void ExpectEquivalent(const std::string& dockerfile,
                        const std::string& recipe,
                        const std::vector<std::string>& files,
                        std::vector<std::string> opts = {}) {
    Write("Dockerfile", dockerfile);
    Write("recipe.yaml", recipe);
    BuildRun df = RunBuild(dockerfile::Build, opts);
    ASSERT_EQ(df.exit_code, 0) << df.result.error.ToString();
    BuildRun rc = RunBuild(recipe::Build, opts);
    ASSERT_EQ(rc.exit_code, 0) << rc.result.error.ToString();
    for (const std::string& f : files) {
      std::string want = ResultFile(df, f);
      EXPECT_NE(want, "<missing>") << f;
      EXPECT_EQ(ResultFile(rc, f), want) << f;
    }
    EXPECT_EQ(ComparableConfig(rc), ComparableConfig(df))
        << "recipe: " << rc.Config() << "\ndockerfile: " << df.Config();
    EXPECT_EQ(df.result.metadata.contains("containerimage.base.config"),
              rc.result.metadata.contains("containerimage.base.config"));
    last_recipe_run_ = std::move(rc);
  }

  BuildRun last_recipe_run_;
};

TEST_F(RecipeEquivalenceTest, MultiStageTargetCopyFromStage) {
  Write("hello.txt", "hello from the context\n");
  ExpectEquivalent(R"(FROM busybox AS build
WORKDIR /src
COPY hello.txt .
RUN cat hello.txt > /out.txt && echo built >> /out.txt
FROM scratch AS final
COPY --from=build /out.txt /final.txt
ENV GREETING=hi
LABEL stage=final
EXPOSE 8080 53/udp
CMD ["/bin/true"]
FROM busybox AS broken
RUN exit 3
)",
                   R"(# syntax=kiln/yaml-recipe:1
stages:
  build:
    from: busybox
    steps:
      - workdir: /src
      - copy: hello.txt
        dest: .
      - run: cat hello.txt > /out.txt && echo built >> /out.txt
  final:
    from: scratch
    steps:
      - copy: /out.txt
        dest: /final.txt
        from: build
      - env: {GREETING: hi}
  broken:
    from: busybox
    steps:
      - run: exit 3
image:
  labels: {stage: final}
  ports: [8080, 53/udp]
  cmd: [/bin/true]
)",
                   {"/final.txt"}, {"target=final", "label:extra=x"});
}

TEST_F(RecipeEquivalenceTest, BaseImageEnvWorkdirUserAndMounts) {
  Write("conf/a.conf", "a=1\n");
  Write("script.sh", "echo from the script\n");
  ExpectEquivalent(R"(FROM busybox
ENV APP_HOME=/opt/app
WORKDIR /opt/app
COPY conf/ ./conf/
RUN mkdir -p data && echo "$APP_HOME" > data/home.txt
RUN --mount=type=bind,source=script.sh,target=/mnt/script.sh sh /mnt/script.sh > data/script.txt
RUN --mount=type=cache,target=/cache echo cached > /cache/x && cp /cache/x data/cache.txt
RUN --mount=type=tmpfs,target=/t touch /t/f && ls /t > data/tmpfs.txt
USER nobody
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /opt/app/data/home.txt"]
VOLUME /data
)",
                   R"(stages:
  app:
    from: busybox
    steps:
      - env: {APP_HOME: /opt/app}
      - workdir: /opt/app
      - copy: conf/
        dest: ./conf/
      - run: mkdir -p data && echo "$APP_HOME" > data/home.txt
      - run: sh /mnt/script.sh > data/script.txt
        mounts:
          - {type: bind, source: script.sh, target: /mnt/script.sh}
      - run: echo cached > /cache/x && cp /cache/x data/cache.txt
        mounts:
          - {type: cache, target: /cache}
      - run: touch /t/f && ls /t > data/tmpfs.txt
        mounts:
          - {type: tmpfs, target: /t}
      - user: nobody
image:
  entrypoint: [/bin/sh, -c]
  cmd: [cat /opt/app/data/home.txt]
  volumes: [/data]
)",
                   {"/opt/app/conf/a.conf", "/opt/app/data/home.txt",
                    "/opt/app/data/script.txt", "/opt/app/data/cache.txt",
                    "/opt/app/data/tmpfs.txt"});
}

TEST_F(RecipeEquivalenceTest, ArgsAndFileOperations) {
  ExpectEquivalent(R"(FROM busybox
ARG NAME=world
RUN echo "hello ${NAME}" > /greeting
RUN mkdir -p /etc/app && ln -s /greeting /etc/app/link && rm -f /bin/true
RUN printf 'k=v\n' > /etc/app/conf && chmod 600 /etc/app/conf
)",
                   R"(args:
  NAME: world
stages:
  main:
    from: busybox
    steps:
      - run: echo "hello ${NAME}" > /greeting
      - mkdir: /etc/app
      - symlink: /etc/app/link
        target: /greeting
      - rm: /bin/true
      - file: /etc/app/conf
        content: "k=v\n"
        mode: 0600
)",
                   {"/greeting", "/etc/app/link", "/etc/app/conf"},
                   {"build-arg:NAME=kiln"});
}

TEST_F(RecipeEquivalenceTest, CopyOwnerModeAndExclude) {
  Write("files/keep.txt", "keep");
  Write("files/sub/deep.txt", "deep");
  Write("files/skip.tmp", "skip");
  ExpectEquivalent(R"(FROM busybox
COPY --chown=65534:65534 --chmod=0640 --exclude=*.tmp files/ /dst/
RUN cd /dst && stat -c '%n %a %u %g' * sub/* > /stat.txt
)",
                   R"(stages:
  main:
    from: busybox
    steps:
      - copy: files/
        dest: /dst/
        owner: "65534:65534"
        mode: 0640
        exclude: ["*.tmp"]
      - run: cd /dst && stat -c '%n %a %u %g' * sub/* > /stat.txt
)",
                   {"/stat.txt", "/dst/keep.txt", "/dst/sub/deep.txt"});
  std::string stat = ResultFile(last_recipe_run_, "/stat.txt");
  EXPECT_NE(stat.find("keep.txt 640 65534 65534\n"), std::string::npos) << stat;
  EXPECT_EQ(stat.find("skip.tmp"), std::string::npos) << stat;
}

TEST_F(RecipeEquivalenceTest, ResultsAreTheFilesExpected) {
  // The comparisons above could pass with both frontends wrong in the same
  // way: check the recipe's own result bytes once.
  Write("recipe.yaml", R"(args:
  NAME: world
stages:
  main:
    from: busybox
    steps:
      - run: echo "hello ${NAME}" > /greeting
      - symlink: /link
        target: greeting
      - rm: /bin/true
)");
  BuildRun run = RunBuild(recipe::Build, {"build-arg:NAME=kiln"});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/greeting"), "hello kiln\n");
  EXPECT_EQ(ResultFile(run, "/link"), "-> greeting");
  EXPECT_EQ(ResultFile(run, "/bin/true"), "<missing>");
  EXPECT_NE(ResultFile(run, "/bin/busybox"), "<missing>");
}

TEST_F(RecipeEquivalenceTest, ValidationErrorsReachTheEngineLocated) {
  Write("build.yaml", "stages:\n  a:\n    form: busybox\n");
  BuildRun run = RunBuild(recipe::Build, {"filename=build.yaml"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_EQ(run.result.error.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(run.result.error.message().find(
                "unknown key \"form\" in stage \"a\" (did you mean "
                "\"from\"?)"),
            std::string::npos)
      << run.result.error.ToString();
  ASSERT_FALSE(run.result.error.ranges().empty());
  EXPECT_EQ(run.result.error.ranges()[0].file, "build.yaml");
  EXPECT_EQ(run.result.error.ranges()[0].line, 3);
  EXPECT_EQ(run.result.error.ranges()[0].column, 5);

  BuildRun missing = RunBuild(recipe::Build, {});
  EXPECT_EQ(missing.result.error.code(), StatusCode::kNotFound);
}

TEST_F(RecipeEquivalenceTest, ForeignSyntaxIsForwarded) {
  Write("recipe.yaml",
        "# syntax=127.0.0.1:1/no/such-frontend:1\nstages:\n  a:\n    "
        "from: scratch\n");
  BuildRun run = RunBuild(recipe::Build, {});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.result.error.message().find(
                "forwarding to syntax image 127.0.0.1:1/no/such-frontend:1"),
            std::string::npos)
      << run.result.error.ToString();
}

TEST_F(RecipeEquivalenceTest,
       ForwardedFromTheDockerfileFrontendReadsDockerfile) {
  // What the Dockerfile frontend sends for a "Dockerfile" whose first line
  // is `# syntax=kiln/yaml-recipe:1`: opt cmdline, no opt filename.
  Write("Dockerfile",
        "# syntax=kiln/yaml-recipe:1\nstages:\n  a:\n    from: scratch\n"
        "    steps:\n      - file: /f\n        content: forwarded\n");
  BuildRun run = RunBuild(recipe::Build, {"cmdline=kiln/yaml-recipe:1"});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/f"), "forwarded");

  // Not forwarded: only recipe.yaml is read.
  BuildRun direct = RunBuild(recipe::Build, {});
  EXPECT_EQ(direct.result.error.code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::recipe::testing
