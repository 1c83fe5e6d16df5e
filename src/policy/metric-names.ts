/**
 * Which way a metric should go, by name, for mode `auto`. Built from the anchors' sources:
 * - keras-team/keras `keras/src/metrics/*.py`: every metric class with `_direction = "up"` / `"down"`, under its
 *   default `name` (accuracy_metrics, confusion_metrics, f_score_metrics, hinge_metrics, iou_metrics,
 *   probabilistic_metrics, regression_metrics, correlation_metrics) and the string aliases of
 *   `keras/src/metrics/__init__.py` (mse, mae, mape, msle, bce); MeanMetricWrapper of a loss is "down", so every
 *   loss of `keras/src/losses/losses.py` under its default name is "down";
 * - Keras `MonitorCallback._set_monitor_op`: `val_` is removed first and `loss` is always "down";
 * - Lightning ModelCheckpoint / EarlyStopping have no `auto` (mode defaults to "min"); the names Lightning users log
 *   (`val_loss`, `val/acc`, `train_loss_epoch`) are covered by the prefix and suffix rules below.
 * Keras' confusion counts (true_positives, false_negatives, …) have no direction there, so they stay unknown here.
 */
export const DOWN_NAMES: readonly string[] = [
  'loss', 'mean_squared_error', 'mean_absolute_error', 'mean_absolute_percentage_error',
  'mean_squared_logarithmic_error', 'root_mean_squared_error', 'logcosh', 'log_cosh', 'huber_loss',
  'hinge', 'squared_hinge', 'categorical_hinge', 'kl_divergence', 'poisson',
  'binary_crossentropy', 'categorical_crossentropy', 'sparse_categorical_crossentropy',
  'binary_focal_crossentropy', 'categorical_focal_crossentropy', 'categorical_generalized_cross_entropy',
  'ctc', 'dice', 'tversky', 'circle', 'mse', 'mae', 'mape', 'msle', 'bce',
];

export const UP_NAMES: readonly string[] = [
  'accuracy', 'acc', 'binary_accuracy', 'categorical_accuracy', 'sparse_categorical_accuracy',
  'top_k_categorical_accuracy', 'sparse_top_k_categorical_accuracy', 'auc', 'precision', 'recall',
  'precision_at_recall', 'recall_at_precision', 'sensitivity_at_specificity', 'specificity_at_sensitivity',
  'f1_score', 'fbeta_score', 'f1', 'r2_score', 'iou', 'mean_iou', 'binary_iou', 'one_hot_iou', 'one_hot_mean_iou',
  'cosine_similarity', 'pearson_correlation', 'concordance_correlation',
];

/** Name endings that decide when the whole name is not in a table (ckpt's own rule, kept from before). */
export const DOWN_SUFFIXES: readonly string[] = ['loss', 'error', 'mse', 'mae', 'crossentropy', 'hinge', 'divergence'];
export const UP_SUFFIXES: readonly string[] = ['accuracy', 'acc', 'auc', 'precision', 'recall', 'f1', 'f1_score', 'fbeta_score', 'iou', 'r2_score'];
