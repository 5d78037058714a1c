// The learner's predictions as evaluation takes them (no LibTorch).
//
//   evaluation::PredictionSet set = ToPredictionSet(epoch_result.valid, source->dataset());
#ifndef MALARIA_EXPERIMENTS_PREDICTION_SET_H_
#define MALARIA_EXPERIMENTS_PREDICTION_SET_H_

#include "data/dataset.h"
#include "evaluation/predictions.h"
#include "training/callback.h"

namespace malaria::experiments {

// ToPredictionSet converts the learner's predictions, adding each example's path (relative to the
// data root) and patient from `dataset`.
evaluation::PredictionSet ToPredictionSet(const training::Predictions& predictions,
                                          const data::Dataset& dataset);

}  // namespace malaria::experiments

#endif  // MALARIA_EXPERIMENTS_PREDICTION_SET_H_
