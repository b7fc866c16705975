using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>
/// An object whose state can be saved and restored exactly, so training resumes where it stopped
/// (optimizers, learning-rate schedules). Tensors travel by name; everything else as JSON values.
/// </summary>
public interface IStateful
{
    /// <summary>The state: tensors by name (the object's own, not copies) and plain values.</summary>
    (StateDict Tensors, JsonObject Values) SaveState();

    /// <summary>Restores a state produced by <see cref="SaveState"/> (values are copied in; nothing is kept by reference).</summary>
    void LoadState(StateDict tensors, JsonObject values);
}
