// Unit tests of the instruction layer: every instruction, its flags, exec vs
// shell forms, heredocs, HEALTHCHECK options, stages and errors (with
// suggestions and source ranges).
#include "kiln/dockerfile/instructions.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "instructions_test_util.h"

namespace kiln::dockerfile {
namespace {

using namespace std::chrono_literals;
using testing_util::ErrorOf;
using testing_util::MessageOf;
using testing_util::MustCommand;
using testing_util::ParseOne;

TEST(DockerfileInstructions, FromStage) {
  Result<Instruction> from =
      ParseOne("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n");
  ASSERT_TRUE(from.ok()) << from.status().ToString();
  const Stage& stage = std::get<Stage>(*from);
  EXPECT_EQ(stage.base, "golang:1.22");
  EXPECT_EQ(stage.name, "build");               // lowercased
  EXPECT_EQ(stage.platform, "$BUILDPLATFORM");  // not expanded here
  EXPECT_EQ(stage.original,
            "FROM --platform=$BUILDPLATFORM golang:1.22 AS Build");
  EXPECT_EQ(stage.range.line, 1);
  EXPECT_TRUE(stage.commands.empty());

  Result<Instruction> plain = ParseOne("from alpine as x\n");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(std::get<Stage>(*plain).name, "x");
  EXPECT_EQ(std::get<Stage>(*plain).platform, "");
}

TEST(DockerfileInstructions, FromErrors) {
  EXPECT_EQ(MessageOf("FROM a b\n"),
            "FROM requires either one or three arguments: \"FROM a b\"");
  EXPECT_EQ(MessageOf("FROM a AS 1x\n"),
            "invalid name for build stage: \"1x\", name can't start with a "
            "number or contain symbols: \"FROM a AS 1x\"");
  EXPECT_EQ(MessageOf("FROM a TO b\n"),
            "FROM requires either one or three arguments: \"FROM a TO b\"");
  EXPECT_EQ(MessageOf("FROM --platfrom=x a\n"),
            "unknown flag: --platfrom (did you mean --platform?): "
            "\"FROM --platfrom=x a\"");
  EXPECT_EQ(MessageOf("FROM --platform a\n"),
            "missing a value on flag: --platform: \"FROM --platform a\"");
}

TEST(DockerfileInstructions, RunShellAndExecForms) {
  RunCommand shell = MustCommand<RunCommand>("RUN echo  $HOME   a\n");
  EXPECT_EQ(shell.name, "RUN");
  EXPECT_TRUE(shell.command.prepend_shell);
  EXPECT_EQ(shell.command.args, std::vector<std::string>{"echo  $HOME   a"});
  EXPECT_EQ(shell.network, "default");
  EXPECT_EQ(shell.security, "sandbox");
  EXPECT_TRUE(shell.mounts.empty());
  EXPECT_EQ(shell.original, "RUN echo  $HOME   a");

  RunCommand exec = MustCommand<RunCommand>("RUN [\"ls\", \"-l\", \"$X\"]\n");
  EXPECT_FALSE(exec.command.prepend_shell);
  EXPECT_EQ(exec.command.args, (std::vector<std::string>{"ls", "-l", "$X"}));
}

TEST(DockerfileInstructions, RunHeredocs) {
  RunCommand run = MustCommand<RunCommand>(
      "RUN <<EOF bash && cat <<-'END'\necho hi $X\nEOF\n\tliteral\nEND\n");
  EXPECT_TRUE(run.command.prepend_shell);
  EXPECT_EQ(run.command.args,
            std::vector<std::string>{"<<EOF bash && cat <<-'END'"});
  ASSERT_EQ(run.command.files.size(), 2u);
  EXPECT_EQ(run.command.files[0].name, "EOF");
  EXPECT_EQ(run.command.files[0].content, "echo hi $X\n");
  EXPECT_TRUE(run.command.files[0].expand);
  EXPECT_EQ(run.command.files[1].name, "END");
  EXPECT_EQ(run.command.files[1].content, "\tliteral\n");  // converter chomps
  EXPECT_TRUE(run.command.files[1].chomp);
  EXPECT_FALSE(run.command.files[1].expand);
  EXPECT_EQ(run.range.line, 1);
  EXPECT_EQ(run.range.end_line, 5);
}

TEST(DockerfileInstructions, RunFlags) {
  RunCommand run = MustCommand<RunCommand>(
      "RUN --network=none --security=insecure --mount=type=cache,target=/c "
      "--mount=type=tmpfs,dst=/t make\n");
  EXPECT_EQ(run.network, "none");
  EXPECT_EQ(run.security, "insecure");
  ASSERT_EQ(run.mounts.size(), 2u);
  EXPECT_EQ(run.mounts[0].type, MountType::kCache);
  EXPECT_EQ(run.mounts[0].target, "/c");
  EXPECT_EQ(run.mounts[1].type, MountType::kTmpfs);
  EXPECT_EQ(run.flags_used,
            (std::vector<std::string>{"network", "security", "mount"}));
  EXPECT_EQ(MustCommand<RunCommand>("RUN --network=host x\n").network, "host");

  EXPECT_EQ(MessageOf("RUN --network=bridge x\n"),
            "invalid network mode \"bridge\": \"RUN --network=bridge x\"");
  EXPECT_EQ(MessageOf("RUN --security=root x\n"),
            "security \"root\" is not valid: \"RUN --security=root x\"");
  EXPECT_EQ(MessageOf("RUN --network=none --network=host x\n"),
            "duplicate flag specified: --network: "
            "\"RUN --network=none --network=host x\"");
  EXPECT_EQ(MessageOf("RUN --mount x\n"),
            "missing a value on flag: --mount: \"RUN --mount x\"");
  EXPECT_EQ(MessageOf("RUN --device=a x\n"),
            "unknown flag: --device: \"RUN --device=a x\"");
  EXPECT_EQ(MessageOf("RUN --mount=type=bnd,target=/x x\n"),
            "unsupported mount type \"bnd\" (did you mean bind?): "
            "\"RUN --mount=type=bnd,target=/x x\"");
}

TEST(DockerfileInstructions, CmdEntrypointShell) {
  CmdCommand cmd = MustCommand<CmdCommand>("CMD [\"a\", \"b\"]\n");
  EXPECT_EQ(cmd.command.args, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(cmd.command.prepend_shell);
  CmdCommand shell_cmd = MustCommand<CmdCommand>("CMD echo hi\n");
  EXPECT_EQ(shell_cmd.command.args, std::vector<std::string>{"echo hi"});
  EXPECT_TRUE(shell_cmd.command.prepend_shell);

  EntrypointCommand ep = MustCommand<EntrypointCommand>("ENTRYPOINT []\n");
  EXPECT_TRUE(ep.command.args.empty());
  EXPECT_FALSE(ep.command.prepend_shell);
  EntrypointCommand ep2 =
      MustCommand<EntrypointCommand>("ENTRYPOINT /bin/run --x\n");
  EXPECT_EQ(ep2.command.args, std::vector<std::string>{"/bin/run --x"});

  ShellCommand shell = MustCommand<ShellCommand>(
      "SHELL [\"/bin/bash\", \"-euo\", \"pipefail\", \"-c\"]\n");
  EXPECT_EQ(shell.shell,
            (std::vector<std::string>{"/bin/bash", "-euo", "pipefail", "-c"}));
  EXPECT_EQ(MessageOf("SHELL /bin/bash -c\n"),
            "SHELL requires the arguments to be in JSON form: "
            "\"SHELL /bin/bash -c\"");
  EXPECT_EQ(MessageOf("SHELL []\n"),
            "SHELL requires at least one argument: \"SHELL []\"");
  EXPECT_EQ(MessageOf("CMD --x=1 a\n"), "unknown flag: --x: \"CMD --x=1 a\"");
}

TEST(DockerfileInstructions, EnvLabelArg) {
  EnvCommand env = MustCommand<EnvCommand>("ENV A=1 B=\"two words\" C=$A\n");
  ASSERT_EQ(env.env.size(), 3u);
  EXPECT_EQ(env.env[0].key, "A");
  EXPECT_EQ(env.env[0].value, "1");
  EXPECT_FALSE(env.env[0].no_delim);
  EXPECT_EQ(env.env[1].value, "\"two words\"");  // raw: converter expands
  EXPECT_EQ(env.env[2].value, "$A");
  EnvCommand legacy = MustCommand<EnvCommand>("ENV NAME some value\n");
  ASSERT_EQ(legacy.env.size(), 1u);
  EXPECT_EQ(legacy.env[0].key, "NAME");
  EXPECT_EQ(legacy.env[0].value, "some value");
  EXPECT_TRUE(legacy.env[0].no_delim);

  LabelCommand label = MustCommand<LabelCommand>("LABEL a.b=c \"x y\"=\"z\"\n");
  ASSERT_EQ(label.labels.size(), 2u);
  EXPECT_EQ(label.labels[0].key, "a.b");
  EXPECT_EQ(label.labels[1].key, "\"x y\"");
  EXPECT_EQ(label.labels[1].value, "\"z\"");

  ArgCommand arg = MustCommand<ArgCommand>("ARG A B=2 C=\n");
  ASSERT_EQ(arg.args.size(), 3u);
  EXPECT_EQ(arg.args[0].key, "A");
  EXPECT_FALSE(arg.args[0].value.has_value());
  EXPECT_EQ(arg.args[1].value, std::optional<std::string>("2"));
  EXPECT_EQ(arg.args[2].value, std::optional<std::string>(""));
  EXPECT_EQ(MessageOf("ARG =x\n"), "ARG names can not be blank: \"ARG =x\"");

  ArgCommand commented =
      MustCommand<ArgCommand>("# VERSION the version to build\nARG VERSION\n");
  EXPECT_EQ(commented.args[0].comment, "the version to build");
}

TEST(DockerfileInstructions, SimpleInstructions) {
  ExposeCommand expose =
      MustCommand<ExposeCommand>("EXPOSE 8080/tcp 53/udp 80\n");
  EXPECT_EQ(expose.ports,
            (std::vector<std::string>{"53/udp", "80", "8080/tcp"}));
  EXPECT_EQ(MustCommand<UserCommand>("USER app:app\n").user, "app:app");
  EXPECT_EQ(MustCommand<WorkdirCommand>("WORKDIR /src/$X\n").path, "/src/$X");
  VolumeCommand volume =
      MustCommand<VolumeCommand>("VOLUME [\"/a\", \" /b \"]\n");
  EXPECT_EQ(volume.volumes, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(MustCommand<VolumeCommand>("VOLUME /x /y\n").volumes,
            (std::vector<std::string>{"/x", "/y"}));
  EXPECT_EQ(MustCommand<StopSignalCommand>("STOPSIGNAL SIGKILL\n").signal,
            "SIGKILL");
  MaintainerCommand maintainer =
      MustCommand<MaintainerCommand>("MAINTAINER Jane Doe <j@d.org>\n");
  EXPECT_EQ(maintainer.maintainer, "Jane Doe <j@d.org>");
  EXPECT_EQ(maintainer.name, "MAINTAINER");

  // The parser gives USER, WORKDIR and STOPSIGNAL their rest of line as one
  // argument; only a hand-built node can have two.
  EXPECT_EQ(MustCommand<UserCommand>("USER a b\n").user, "a b");
  Node node;
  node.value = "workdir";
  node.original = "WORKDIR a b";
  node.range = SourceRange{"Dockerfile", 7, 1, 7, 12};
  node.next.resize(2);
  node.next[0].value = "a";
  node.next[1].value = "b";
  Result<Instruction> two = ParseInstruction(node);
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().message(),
            "WORKDIR requires exactly one argument: \"WORKDIR a b\"");
  EXPECT_EQ(two.status().ranges().at(0).line, 7);
  EXPECT_EQ(
      MessageOf("VOLUME [\"\"]\n"),
      "VOLUME specified can not be an empty string: \"VOLUME [\\\"\\\"]\"");
  EXPECT_EQ(MessageOf("USER --x=1 a\n"), "unknown flag: --x: \"USER --x=1 a\"");
}

TEST(DockerfileInstructions, Onbuild) {
  OnbuildCommand onbuild = MustCommand<OnbuildCommand>(
      "ONBUILD   RUN --mount=type=cache,target=/c make\n");
  EXPECT_EQ(onbuild.expression, "RUN --mount=type=cache,target=/c make");
  OnbuildCommand heredoc =
      MustCommand<OnbuildCommand>("onbuild copy <<EOF /f\nhello\nEOF\n");
  EXPECT_EQ(heredoc.expression, "copy <<EOF /f\nhello\nEOF");
  EXPECT_EQ(MessageOf("ONBUILD ONBUILD RUN x\n"),
            "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed: "
            "\"ONBUILD ONBUILD RUN x\"");
  EXPECT_EQ(MessageOf("ONBUILD FROM x\n"),
            "FROM isn't allowed as an ONBUILD trigger: \"ONBUILD FROM x\"");
  EXPECT_EQ(MessageOf("ONBUILD MAINTAINER x\n"),
            "MAINTAINER isn't allowed as an ONBUILD trigger: "
            "\"ONBUILD MAINTAINER x\"");
}

TEST(DockerfileInstructions, Healthcheck) {
  HealthcheckCommand none =
      MustCommand<HealthcheckCommand>("HEALTHCHECK none\n");
  EXPECT_EQ(none.health.test, std::vector<std::string>{"NONE"});
  HealthcheckCommand shell = MustCommand<HealthcheckCommand>(
      "HEALTHCHECK --interval=1m30s --timeout=1.5s --start-period=250ms "
      "--start-interval=2s --retries=4 CMD curl -f http://x/ || exit 1\n");
  EXPECT_EQ(
      shell.health.test,
      (std::vector<std::string>{"CMD-SHELL", "curl -f http://x/ || exit 1"}));
  EXPECT_EQ(shell.health.interval, 90s);
  EXPECT_EQ(shell.health.timeout, 1500ms);
  EXPECT_EQ(shell.health.start_period, 250ms);
  EXPECT_EQ(shell.health.start_interval, 2s);
  EXPECT_EQ(shell.health.retries, 4);
  HealthcheckCommand exec = MustCommand<HealthcheckCommand>(
      "HEALTHCHECK --timeout=0 --interval=1h2m3.5us CMD [\"/bin/check\", "
      "\"-q\"]\n");
  EXPECT_EQ(exec.health.test,
            (std::vector<std::string>{"CMD", "/bin/check", "-q"}));
  EXPECT_EQ(exec.health.timeout, 0s);
  EXPECT_EQ(exec.health.interval, 1h + 2min + 3500ns);
  EXPECT_EQ(exec.health.retries, 0);
  EXPECT_EQ(MustCommand<HealthcheckCommand>(
                "HEALTHCHECK --interval=1ms --retries=+2 CMD x\n")
                .health.interval,
            1ms);

  EXPECT_EQ(MessageOf("HEALTHCHECK --interval=999us CMD x\n"),
            "interval \"interval\" cannot be less than 1ms: "
            "\"HEALTHCHECK --interval=999us CMD x\"");
  EXPECT_EQ(MessageOf("HEALTHCHECK --timeout=-1s CMD x\n"),
            "interval \"timeout\" cannot be less than 1ms: "
            "\"HEALTHCHECK --timeout=-1s CMD x\"");
  EXPECT_EQ(MessageOf("HEALTHCHECK --interval=5 CMD x\n"),
            "time: missing unit in duration \"5\": "
            "\"HEALTHCHECK --interval=5 CMD x\"");
  EXPECT_EQ(MessageOf("HEALTHCHECK --interval=5d CMD x\n"),
            "time: unknown unit \"d\" in duration \"5d\": "
            "\"HEALTHCHECK --interval=5d CMD x\"");
  EXPECT_EQ(MessageOf("HEALTHCHECK --start-period=s CMD x\n"),
            "time: invalid duration \"s\": "
            "\"HEALTHCHECK --start-period=s CMD x\"");
  EXPECT_EQ(MessageOf("HEALTHCHECK --retries=-1 CMD x\n"),
            "--retries cannot be negative (-1): "
            "\"HEALTHCHECK --retries=-1 CMD x\"");
  EXPECT_EQ(MessageOf("HEALTHCHECK --retries=two CMD x\n"),
            "invalid value for --retries: two: "
            "\"HEALTHCHECK --retries=two CMD x\"");
  EXPECT_EQ(MessageOf("HEALTHCHECK NONE x\n"),
            "HEALTHCHECK NONE takes no arguments: \"HEALTHCHECK NONE x\"");
  EXPECT_EQ(MessageOf("HEALTHCHECK CMD\n"),
            "missing command after HEALTHCHECK CMD: \"HEALTHCHECK CMD\"");
  EXPECT_EQ(MessageOf("HEALTHCHECK CONNECT TCP 7000\n"),
            "unknown type \"CONNECT\" in HEALTHCHECK (try CMD): "
            "\"HEALTHCHECK CONNECT TCP 7000\"");
  EXPECT_EQ(MessageOf("HEALTHCHECK --intervl=1s CMD x\n"),
            "unknown flag: --intervl (did you mean --interval?): "
            "\"HEALTHCHECK --intervl=1s CMD x\"");
}

}  // namespace
}  // namespace kiln::dockerfile
