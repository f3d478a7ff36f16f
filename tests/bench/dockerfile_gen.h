// A generated, realistic Dockerfile for the Dockerfile frontend benchmarks:
// global ARGs, several stages (each FROM busybox or the previous stage, all
// reachable from the last one),
// ARG/ENV with expansions, RUN with cache/bind/secret mounts, COPY from the
// context and --from, heredocs (RUN and COPY), WORKDIR, LABEL, and a final
// CMD. Header-only; the same text for a given line count.
#ifndef KILN_TESTS_BENCH_DOCKERFILE_GEN_H_
#define KILN_TESTS_BENCH_DOCKERFILE_GEN_H_

#include <map>
#include <string>
#include <string_view>

#include "kiln/dockerfile/convert.h"

namespace kiln::bench {

// About `lines` lines (exactly, unless the last block overshoots by a few).
inline std::string GenerateDockerfile(int lines, int* line_count) {
  std::string out =
      "# syntax=docker/dockerfile:1\n"
      "ARG BASE=busybox\nARG VERSION=1.2.3\nARG PREFIX=/opt\n";
  int n = 3 + 1;
  int stage = 0;
  int in_stage = 0;
  int i = 0;
  auto add = [&](const std::string& text, int count) {
    out += text;
    n += count;
  };
  const int per_stage = 120;
  while (n < lines) {
    if (in_stage == 0) {
      std::string s = std::to_string(stage);
      if (stage == 0) {
        add("FROM ${BASE}:latest AS s" + s + "\n", 1);
      } else if (stage % 3 == 1) {
        // A fresh base that still needs the previous stage.
        add("FROM ${BASE}:latest AS s" + s + "\nCOPY --from=s" +
                std::to_string(stage - 1) + " /opt /opt\n",
            2);
      } else {
        add("FROM s" + std::to_string(stage - 1) + " AS s" + s + "\n", 1);
      }
      add("ARG VERSION\nARG PREFIX\nENV APP_HOME=${PREFIX}/app" + s +
              " APP_VERSION=${VERSION:-0}\n",
          3);
      add("WORKDIR $APP_HOME\n", 1);
      in_stage = 5;
      ++stage;
      continue;
    }
    std::string k = std::to_string(i++);
    switch (i % 8) {
      case 0:
        add("RUN --mount=type=cache,target=/root/.cache,id=c" + k +
                " --mount=type=bind,source=src,target=/src "
                "make -C /src -j2 OUT=$APP_HOME/out" +
                k + " V=${APP_VERSION}\n",
            1);
        break;
      case 1:
        add("COPY --chmod=0644 src/file" + k + ".txt lib/ \n", 1);
        break;
      case 2:
        add("ENV PATH_" + k + "=${APP_HOME}/bin:${PATH} FLAG_" + k +
                "=\"quoted ${APP_VERSION} value\"\n",
            1);
        break;
      case 3:
        add("RUN <<EOF\nset -e\necho step " + k +
                " > /tmp/step\ncat /tmp/step >> $APP_HOME/log\nEOF\n",
            5);
        break;
      case 4:
        if (stage > 1) {
          add("COPY --from=s0 /opt/app0/out" + k + " ./from-s0/\n", 1);
        } else {
          add("COPY a" + k + " b" + k + " ./dst/\n", 1);
        }
        break;
      case 5:
        add("RUN --mount=type=secret,id=token,required=false \\\n"
            "    test -f /run/secrets/token && echo ok" +
                k + " || true\n",
            2);
        break;
      case 6:
        add("LABEL org.example.step" + k + "=\"${APP_VERSION}-" + k + "\"\n",
            1);
        break;
      default:
        add("COPY <<EOF conf/app" + k + ".conf\nname=${APP_HOME}\nid=" + k +
                "\nEOF\n",
            4);
        break;
    }
    in_stage += 1;
    if (in_stage >= per_stage) in_stage = 0;
  }
  add("CMD [\"/bin/sh\"]\n", 1);
  if (line_count != nullptr) *line_count = n;
  return out;
}

// Options with a resolver that answers every image at once (no I/O).
inline dockerfile::ConvertOptions BenchConvertOptions() {
  dockerfile::ConvertOptions o;
  o.target_platform = {.os = "linux", .architecture = "amd64"};
  o.build_platform = o.target_platform;
  o.resolve_image = [](std::string_view ref,
                       const llb::Platform&) -> Result<dockerfile::ImageMeta> {
    return dockerfile::ImageMeta{
        std::string(ref),
        "sha256:"
        "4444444444444444444444444444444444444444444444444444444444444444",
        R"({"config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],)"
        R"("Cmd":["sh"]},"rootfs":{"type":"layers"}})"};
  };
  return o;
}

}  // namespace kiln::bench

#endif  // KILN_TESTS_BENCH_DOCKERFILE_GEN_H_
