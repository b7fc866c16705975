using Engine.Kernels;

namespace Engine;

public sealed partial class Tensor
{
    /// <summary>The node that produced this tensor, or null for a leaf.</summary>
    public GradNode? GradFn { get; internal set; }

    /// <summary>True for tensors created by the user rather than by a recorded op.</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>
    /// Whether gradients flow to this tensor. Only floating-point leaves may be set; results of recorded ops
    /// require grad when any input does.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf && !value)
                throw new AutogradException("requires_grad", "cannot turn off requires_grad on a non-leaf tensor; use Detach()");
            if (value && !DType.IsFloatingPoint())
                throw new DTypeException("requires_grad", $"only floating-point tensors can require gradients, got {DType.Name()}");
            _requiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor (fluent form).</summary>
    public Tensor RequiresGrad_(bool value = true) { RequiresGrad = value; return this; }

    /// <summary>
    /// The accumulated gradient of a leaf after <see cref="Backward"/>. The tensor owns it (it is outside every
    /// dispose scope and disposed with this tensor). Setting it replaces (and disposes) the previous one.
    /// </summary>
    public Tensor? Grad
    {
        get => _grad;
        set
        {
            if (ReferenceEquals(value, _grad)) return;
            _grad?.Dispose();
            _grad = value?.DetachFromDisposeScope();
        }
    }

    /// <summary>A tensor sharing this one's storage that is cut off from the graph.</summary>
    public Tensor Detach() => Alias(_shape, _strides, _offset, "detach");

    /// <summary>Disables graph recording on this thread until the returned object is disposed.</summary>
    public static IDisposable NoGrad() => GradMode.Disable();

    /// <summary>
    /// Computes the gradient of this tensor with respect to every leaf that requires grad, accumulating into
    /// their <see cref="Grad"/>. A non-scalar tensor needs <paramref name="gradient"/> (same shape). The saved
    /// tensors of the graph are freed afterwards unless <paramref name="retainGraph"/>.
    /// </summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false)
    {
        StorageOf("backward");
        if (!RequiresGrad)
            throw new AutogradException("backward", $"the tensor {Describe()} does not require grad and has no grad_fn");
        if (gradient is null && NumEl != 1)
            throw new AutogradException("backward", $"grad can be implicitly created only for scalar outputs; the output has shape {ShapeUtil.Format(_shape)}: pass a gradient");
        if (gradient is not null)
        {
            if (!gradient.ShapeSpan.SequenceEqual(ShapeSpan))
                throw new ShapeException("backward", $"gradient has shape {ShapeUtil.Format(gradient.ShapeSpan)} but the output has shape {ShapeUtil.Format(_shape)}");
            Checks.SameDevice("backward", this, gradient);
            Checks.SameDType("backward", this, gradient);
        }
        Autograd.Run(this, gradient, retainGraph);
    }
}
