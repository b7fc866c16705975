namespace Engine.Nn;

/// <summary>What one epoch of training (and the evaluation after it) measured.</summary>
public sealed record EpochStats(
    int Epoch, double TrainLoss, double TrainTop1, double? TestLoss, double? TestTop1, double? TestTopK,
    double LearningRate, double Seconds, double ImagesPerSecond, long[,]? Confusion);
