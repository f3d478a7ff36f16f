// BridgeServer: the Inputs RPC, nested frontend solves through
// BuildEnv::nested (refs adopted under new ids, with definitions and
// metadata), recorded ref definitions and RPC activity. No root needed.
#include <mutex>

#include "bridge_fixture.h"
#include "kiln/llb/definition.h"
#include "kiln/solver/graph.h"

namespace kiln::gateway::testing {
namespace {

// Equal op lists (metadata maps serialize in no fixed order).
bool SameOps(const pb::Definition& a, const pb::Definition& b) {
  if (a.def_size() != b.def_size()) return false;
  for (int i = 0; i < a.def_size(); ++i) {
    if (a.def(i) != b.def(i)) return false;
  }
  return a.metadata_size() == b.metadata_size();
}

// A nested "frontend" that solves one file with the test's solver.
class FakeNested : public NestedFrontends {
 public:
  solver::Solver* solver = nullptr;
  bool as_map = false;
  Status fail;

  Result<FrontendOutput> SolveFrontend(
      const std::string& frontend,
      const std::map<std::string, std::string>& opts,
      const std::map<std::string, pb::Definition>& inputs,
      std::stop_token stop) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen_frontend = frontend;
      seen_opts = opts;
      seen_inputs = inputs.size();
    }
    if (!fail.ok()) return fail;
    auto it = opts.find("message");
    llb::State s = llb::Scratch().File(
        llb::Mkfile("/nested.txt", 0644, it == opts.end() ? "" : it->second));
    KILN_ASSIGN_OR_RETURN(pb::Definition def, s.Marshal());
    KILN_ASSIGN_OR_RETURN(llb::LoadedDefinition loaded,
                          llb::LoadDefinition(def));
    KILN_ASSIGN_OR_RETURN(solver::Graph graph, solver::BuildGraph(loaded));
    KILN_ASSIGN_OR_RETURN(solver::SolveResult solved,
                          solver->Solve(graph, {}, stop));
    FrontendOutput out;
    ResultRef ref{"inner-id", solved.snapshot, solved.platform};
    if (as_map) {
      out.result.refs["linux/amd64"] = ref;
    } else {
      out.result.ref = ref;
    }
    out.result.metadata["containerimage.config"] = "{}";
    out.definitions["inner-id"] = def;
    return out;
  }

  std::mutex mu;
  std::string seen_frontend;
  std::map<std::string, std::string> seen_opts;
  size_t seen_inputs = 0;
};

class BridgeNestedTest : public BridgeServerTest {
 protected:
  void SetUp() override {
    llb::State input = llb::Scratch().File(llb::Mkfile("/in", 0644, "x"));
    auto def = input.Marshal();
    ASSERT_TRUE(def.ok());
    input_def_ = *def;
    inputs_["context"] = input_def_;
    nested_ = &fake_;
    BridgeServerTest::SetUp();
    fake_.solver = solver_.get();
  }

  grpc::Status SolveNested(fe::SolveResponse* resp) {
    fe::SolveRequest req;
    req.set_frontend("gateway.v0");
    (*req.mutable_frontendopt())["source"] = "example/frontend";
    (*req.mutable_frontendopt())["message"] = "nested hello";
    (*req.mutable_frontendinputs())["context"] = input_def_;
    req.set_allowresultreturn(true);
    req.set_allowresultarrayref(true);
    grpc::ClientContext ctx;
    return stub_->Solve(&ctx, req, resp);
  }

  FakeNested fake_;
  pb::Definition input_def_;
};

TEST_F(BridgeNestedTest, InputsAnswersTheBuildInputs) {
  fe::InputsRequest req;
  fe::InputsResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Inputs(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.definitions().size(), 1u);
  EXPECT_TRUE(SameOps(resp.definitions().at("context"), input_def_));
}

TEST_F(BridgeNestedTest, NestedRefsBecomeRefsOfThisBuild) {
  fe::SolveResponse resp;
  grpc::Status st = SolveNested(&resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(fake_.seen_frontend, "gateway.v0");
  EXPECT_EQ(fake_.seen_opts.at("source"), "example/frontend");
  EXPECT_EQ(fake_.seen_inputs, 1u);
  ASSERT_TRUE(resp.result().has_ref());
  const std::string id = resp.result().ref().id();
  EXPECT_FALSE(id.empty());
  EXPECT_NE(id, "inner-id");
  EXPECT_GT(resp.result().ref().def().def_size(), 0);
  EXPECT_EQ(resp.result().metadata().at("containerimage.config"), "{}");
  std::string data;
  st = Read(id, "/nested.txt", &data);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(data, "nested hello");
  auto def = bridge_->definition(id);
  ASSERT_TRUE(def.has_value());
  EXPECT_TRUE(SameOps(*def, resp.result().ref().def()));
  // The nested frontend's own id is not a ref of this build.
  st = Read("inner-id", "/nested.txt", &data);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("unknown ref inner-id"), std::string::npos);
}

TEST_F(BridgeNestedTest, NestedRefMapAndErrors) {
  fake_.as_map = true;
  fe::SolveResponse resp;
  grpc::Status st = SolveNested(&resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(resp.result().has_refs());
  const auto& refs = resp.result().refs().refs();
  ASSERT_EQ(refs.size(), 1u);
  std::string data;
  ASSERT_TRUE(Read(refs.at("linux/amd64").id(), "/nested.txt", &data).ok());
  EXPECT_EQ(data, "nested hello");

  fake_.fail = PermissionDeniedError("frontend image x is denied by policy");
  fe::SolveResponse failed;
  st = SolveNested(&failed);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "frontend image x is denied by policy");
}

TEST_F(BridgeNestedTest, SolvedRefsKeepTheirDefinitionAndActivityIsTracked) {
  BridgeActivity before = bridge_->activity();
  EXPECT_EQ(before.in_progress, 0);
  std::string id = SolveSample();
  BridgeActivity after = bridge_->activity();
  EXPECT_EQ(after.in_progress, 0);
  EXPECT_GT(after.last_call, before.last_call);
  auto def = bridge_->definition(id);
  ASSERT_TRUE(def.has_value());
  EXPECT_GT(def->def_size(), 0);
  EXPECT_FALSE(bridge_->definition("nope").has_value());
}

}  // namespace
}  // namespace kiln::gateway::testing
