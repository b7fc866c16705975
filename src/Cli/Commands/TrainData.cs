using Engine.Nn.Data;

namespace Engine.Cli;

/// <summary>What <c>engine train</c> trains on: the dataset facts, the side samples reach the model at, both splits and their transforms.</summary>
/// <param name="Info">Channels, classes, statistics (and frames, for clips).</param>
/// <param name="Side">The square side of the model's input.</param>
/// <param name="Train">The training split.</param>
/// <param name="Test">The test split.</param>
/// <param name="TrainTransform">The training transform (augmentation and normalisation).</param>
/// <param name="TestTransform">The test transform (normalisation).</param>
/// <param name="Source">Where the data came from, for the log.</param>
internal sealed record TrainData(DatasetInfo Info, int Side, IDataset Train, IDataset Test, Transform TrainTransform, Transform TestTransform, string Source);
