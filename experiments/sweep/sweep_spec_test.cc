#include "experiments/sweep/sweep_spec.h"

#include <string>

#include "base/files.h"
#include "base/test_util.h"
#include "gtest/gtest.h"

namespace malaria::experiments {
namespace {

// The runfiles root: the tests' sweeps name experiments relative to it.
std::string Workspace() { return base::JoinPath(std::getenv("TEST_SRCDIR"), "malaria"); }

SweepConfig Parse(const std::string& text) {
  absl::StatusOr<SweepConfig> s = ParseSweepConfig(text, "test.pbtxt");
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : SweepConfig();
}

constexpr char kBase[] = R"pb(
  name: "s" experiment: "experiments/sweep/testdata/tiny_kfold.pbtxt"
)pb";

TEST(SweepSpecTest, GridIsTheProductWithTheLastAxisFastest) {
  const SweepConfig s = Parse(std::string(kBase) + R"pb(
    axis {
      field: "training.stage[0].lr.max"
      range { min: 1e-3 max: 1e-1 scale: LOG points: 3 }
    }
    axis {
      field: "seed"
      values: [ "1", "2" ]
    }
    grid {}
  )pb");
  const auto c = SweepCandidates(s);
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[0], (std::vector<std::string>{"training.stage[0].lr.max=0.001", "seed=1"}));
  EXPECT_EQ(c[1], (std::vector<std::string>{"training.stage[0].lr.max=0.001", "seed=2"}));
  EXPECT_EQ(c[2], (std::vector<std::string>{"training.stage[0].lr.max=0.01", "seed=1"}));
  EXPECT_EQ(c[5], (std::vector<std::string>{"training.stage[0].lr.max=0.1", "seed=2"}));
  EXPECT_TRUE(ValidateSweep(s, Workspace()).ok()) << ValidateSweep(s, Workspace());
}

TEST(SweepSpecTest, LinearIntegerRangesAreEvenlySpacedAndRounded) {
  SweepAxis axis;
  axis.set_field("training.stage[0].epochs");
  axis.mutable_range()->set_min(2);
  axis.mutable_range()->set_max(8);
  axis.mutable_range()->set_points(4);
  axis.mutable_range()->set_integer(true);
  EXPECT_EQ(AxisGridValues(axis), (std::vector<std::string>{"2", "4", "6", "8"}));
  axis.mutable_range()->set_integer(false);
  axis.mutable_range()->set_points(3);
  EXPECT_EQ(AxisGridValues(axis), (std::vector<std::string>{"2", "5", "8"}));
}

TEST(SweepSpecTest, RandomDrawsAreSeededAndInRange) {
  const SweepConfig s = Parse(std::string(kBase) + R"pb(
    axis {
      field: "training.stage[0].lr.max"
      range { min: 1e-4 max: 1e-2 scale: LOG }
    }
    axis {
      field: "seed"
      values: [ "1", "2", "3" ]
    }
    random { trials: 20 seed: 5 }
  )pb");
  const auto a = SweepCandidates(s);
  EXPECT_EQ(a, SweepCandidates(s));  // deterministic
  ASSERT_EQ(a.size(), 20u);
  SweepConfig other = s;
  other.mutable_random()->set_seed(6);
  EXPECT_NE(a, SweepCandidates(other));
  for (const auto& c : a) {
    const double lr = std::stod(c[0].substr(c[0].find('=') + 1));
    EXPECT_GE(lr, 1e-4);
    EXPECT_LE(lr, 1e-2);
  }
}

TEST(SweepSpecTest, SuccessiveHalvingRungsMultiplyByEtaUpToTheMaximum) {
  SweepConfig s = Parse(std::string(kBase) + R"pb(
    axis {
      field: "seed"
      values: [ "1", "2" ]
    }
    successive_halving { min_epochs: 1 max_epochs: 12 eta: 3 }
  )pb");
  EXPECT_EQ(RungEpochs(s), (std::vector<int>{1, 3, 9, 12}));
  s.mutable_successive_halving()->set_max_epochs(9);
  EXPECT_EQ(RungEpochs(s), (std::vector<int>{1, 3, 9}));
  EXPECT_TRUE(RungEpochs(Parse(std::string(kBase) + "grid {}")).empty());
  EXPECT_EQ(TrialExperimentName(s, 7), "s-t007");
}

// Plans too large to list, axes on what the sweep sets itself, a field on two axes: named at once,
// by the shape check alone (no candidate is listed).
TEST(SweepSpecTest, PlanSizesAndTheSweepsOwnFieldsAreChecked) {
  const absl::Status huge = ValidateSweepShape(Parse(R"pb(
    name: "s"
    axis {
      field: "seed"
      range { min: 1 max: 1e6 points: 10000 }
    }
    axis {
      field: "data.batch_size"
      range { min: 1 max: 1e6 points: 5000 }
    }
    axis {
      field: "model.input_channels"
      range { min: 1 max: 3 points: 20000 }
    }
    grid {}
  )pb"));
  EXPECT_NE(huge.message().find("axis[2] (model.input_channels).range.points: must be <= 10000"),
            std::string::npos)
      << huge;
  const absl::Status grid = ValidateSweepShape(Parse(R"pb(
    name: "s"
    axis {
      field: "seed"
      range { min: 1 max: 1e6 points: 10000 }
    }
    axis {
      field: "data.batch_size"
      range { min: 1 max: 1e6 points: 5000 }
    }
    successive_halving {}
  )pb"));
  EXPECT_NE(grid.message().find("successive_halving: the grid has 5e+07 combinations"),
            std::string::npos)
      << grid;
  const absl::Status draws =
      ValidateSweepShape(Parse("name: 's' axis { field: 'seed' values: ['1'] } random { trials: "
                               "2000000000 }"));
  EXPECT_NE(draws.message().find("random.trials: must be in [1, 10000], got 2000000000"),
            std::string::npos)
      << draws;
  const absl::Status own = ValidateSweepShape(Parse(R"pb(
    name: "s"
    set: "tracker.root=/elsewhere"
    axis {
      field: "data.split.patient_kfold"
      values: [ "{folds: 3}" ]
    }
    axis {
      field: "name"
      values: [ "x" ]
    }
    axis {
      field: "training.stage[0]"
      values: [ "{epochs: 2}" ]
    }
    axis {
      field: " training.stage[0].epochs"
      values: [ "3" ]
    }
  )pb"));
  const std::string m(own.message());
  EXPECT_NE(m.find("set[0] ('tracker.root=/elsewhere'): sets tracker.root"), std::string::npos)
      << m;
  EXPECT_NE(m.find("axis[0] (data.split.patient_kfold).field: sets data.split.patient_kfold.fold"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("axis[1] (name).field: sets name, which the sweep sets itself"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("axis[3] ( training.stage[0].epochs).field: sets what axis[2] "
                   "(training.stage[0]) sets"),
            std::string::npos)
      << m;
  EXPECT_TRUE(ValidateSweepShape(Parse("name: 's' axis { field: 'data.split.seed' values: ['1'] "
                                       "} axis { field: 'name_suffix' values: ['1'] }"))
                  .message()
                  .find("sets name,") == std::string::npos);
  EXPECT_FALSE(ValidSweepName(std::string(201, 'n')));
  EXPECT_TRUE(ValidSweepName(std::string(200, 'n')));
}

TEST(SweepSpecTest, EveryProblemIsNamedWithItsField) {
  const SweepConfig s = Parse(R"pb(
    name: "bad name"
    experiment: "experiments/sweep/testdata/tiny_kfold.pbtxt"
    folds: [ 0, 5 ]
    axis {
      field: "training.stage[0].lr.max"
      range { min: 1e-2 max: 1e-3 }
    }
    axis { field: "seed" }
    axis {
      field: "seed"
      values: [ "1" ]
      range { min: 1 max: 2 }
    }
    axis {
      field: "x"
      range { min: 0 max: 1 scale: LOG }
    }
    objective { metric: "speed" }
    budget { max_tflop: -1 }
  )pb");
  const absl::Status status = ValidateSweep(s, Workspace());
  ASSERT_FALSE(status.ok());
  const std::string m(status.message());
  EXPECT_NE(m.find("name: must be 1 to 200 letters"), std::string::npos) << m;
  EXPECT_NE(
      m.find("axis[0] (training.stage[0].lr.max).range: is empty: min 0.01 is not <= max 0.001"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("axis[1] (seed): has neither values nor a range"), std::string::npos) << m;
  EXPECT_NE(m.find("axis[2] (seed): has both values and a range"), std::string::npos) << m;
  EXPECT_NE(m.find("axis[3] (x).range.min: must be > 0 on a LOG scale"), std::string::npos) << m;
  EXPECT_NE(m.find("objective.metric: 'speed' is not a k-fold metric"), std::string::npos) << m;
  EXPECT_NE(m.find("budget.max_tflop: must be >= 0"), std::string::npos) << m;
}

TEST(SweepSpecTest, UnknownFieldsAndIllTypedValuesAreNamedWithTheirAxis) {
  const SweepConfig s = Parse(std::string(kBase) + R"pb(
    folds: [ 0, 2 ]
    axis {
      field: "training.stage[0].learning_rate"
      values: [ "1" ]
    }
    axis {
      field: "training.stage[0].epochs"
      values: [ "2", "many" ]
    }
  )pb");
  const absl::Status status = ValidateSweep(s, Workspace());
  ASSERT_FALSE(status.ok());
  const std::string m(status.message());
  EXPECT_NE(m.find("folds[1]: must be a fold of the experiment's 2, got 2"), std::string::npos)
      << m;
  // Folds are checked first; with them right, the axes.
  SweepConfig fixed = s;
  fixed.clear_folds();
  const std::string m2(ValidateSweep(fixed, Workspace()).message());
  EXPECT_NE(m2.find("axis[0] (training.stage[0].learning_rate): value '1': "), std::string::npos)
      << m2;
  EXPECT_NE(m2.find("has no field 'learning_rate'"), std::string::npos) << m2;
  EXPECT_NE(m2.find("axis[1] (training.stage[0].epochs): value 'many': "), std::string::npos) << m2;
}

TEST(SweepSpecTest, ValuesTheExperimentRefusesAreNamedWithTheirCandidate) {
  const SweepConfig s = Parse(std::string(kBase) + R"pb(
    axis {
      field: "training.stage[0].epochs"
      values: [ "1", "0" ]
    }
  )pb");
  const std::string m(ValidateSweep(s, Workspace()).message());
  EXPECT_NE(m.find("candidate 1 (training.stage[0].epochs=0): invalid experiment config"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("epochs"), std::string::npos) << m;
}

TEST(SweepSpecTest, TheExperimentMustExistAndSplitByPatientFolds) {
  SweepConfig s = Parse(R"pb(
    name: "s"
    experiment: "experiments/no_such.pbtxt"
    axis { field: "seed" values: "1" }
  )pb");
  absl::Status status = ValidateSweep(s, Workspace());
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_NE(status.message().find("experiment: "), absl::string_view::npos) << status;
  EXPECT_NE(status.message().find("no_such.pbtxt"), absl::string_view::npos) << status;
  s.set_experiment("experiments/sweep/testdata/tiny_kfold.pbtxt");
  s.add_set("data.split={patient { valid_pct: 0.2 }}");
  status = ValidateSweep(s, Workspace());
  EXPECT_NE(status.message().find("does not split by patient_kfold"), absl::string_view::npos)
      << status;
  s.set_set(0, "data.no_field=1");
  status = ValidateSweep(s, Workspace());
  EXPECT_NE(status.message().find("set[0] ('data.no_field=1')"), absl::string_view::npos) << status;
}

TEST(SweepSpecTest, TheTestSweepLoadsAndIsValid) {
  absl::StatusOr<SweepConfig> s =
      LoadSweepConfig(base::JoinPath(Workspace(), "experiments/sweep/testdata/tiny_sweep.pbtxt"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name(), "tiny_sweep");
  EXPECT_EQ(SweepCandidates(*s).size(), 8u);
  EXPECT_TRUE(ValidateSweep(*s, Workspace()).ok()) << ValidateSweep(*s, Workspace());
  EXPECT_TRUE(absl::IsNotFound(LoadSweepConfig("/no/such/sweep.pbtxt").status()));
  // The spec text leaves the budget out: raising it continues the same sweep.
  SweepConfig raised = *s;
  raised.mutable_budget()->set_max_tflop(5);
  EXPECT_EQ(SweepSpecText(raised), SweepSpecText(*s));
  raised.add_folds(1);
  EXPECT_NE(SweepSpecText(raised), SweepSpecText(*s));
}

}  // namespace
}  // namespace malaria::experiments
