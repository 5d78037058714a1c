#include "training/callback.h"

#include <algorithm>

namespace malaria::training {

CallbackList::CallbackList(std::vector<Callback*> callbacks) {
  for (Callback* c : callbacks) {
    if (c != nullptr) callbacks_.push_back(c);
  }
}

template <typename Hook>
absl::Status CallbackList::Each(FitState& s, Hook hook) {
  for (Callback* c : callbacks_) {
    if (absl::Status status = hook(*c, s); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status CallbackList::FitBegin(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnFitBegin(s); });
}
absl::Status CallbackList::EpochBegin(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnEpochBegin(s); });
}
absl::Status CallbackList::BatchBegin(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnBatchBegin(s); });
}
absl::Status CallbackList::ForwardBegin(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnForwardBegin(s); });
}
absl::Status CallbackList::ForwardEnd(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnForwardEnd(s); });
}
absl::Status CallbackList::Loss(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnLoss(s); });
}
absl::Status CallbackList::BackwardBegin(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnBackwardBegin(s); });
}
absl::Status CallbackList::BackwardEnd(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnBackwardEnd(s); });
}
absl::Status CallbackList::BatchEnd(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnBatchEnd(s); });
}
absl::Status CallbackList::ValidateBegin(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnValidateBegin(s); });
}
absl::Status CallbackList::ValidateEnd(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnValidateEnd(s); });
}
absl::Status CallbackList::EpochEnd(FitState& s) {
  return Each(s, [](Callback& c, FitState& s) { return c.OnEpochEnd(s); });
}

void CallbackList::FitEnd(FitState& s, const absl::Status& outcome) {
  for (auto c = callbacks_.rbegin(); c != callbacks_.rend(); ++c) (*c)->OnFitEnd(s, outcome);
}

}  // namespace malaria::training
