namespace Engine.Nn;

/// <summary>
/// A training recipe (transfer learning, distillation, pseudo-labelling, noisy student, k-NN) rejected its setup:
/// a teacher checkpoint of another model, a student smaller than its teacher, an empty unlabelled set, a head name
/// that is not a linear or convolutional layer, and the like. The message names the recipe and what was wrong.
/// </summary>
public sealed class RecipeException(string recipe, string message) : EngineException(recipe, message);
