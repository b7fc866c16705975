using Engine.Kernels;

namespace Engine;

public static partial class Functional
{
    /// <summary>
    /// ShuffleNet's channel shuffle of x [N, C, *]: the channels, seen as <paramref name="groups"/> groups of C/groups,
    /// are interleaved so output channel j·groups + g is input channel g·(C/groups) + j (PyTorch's
    /// <c>channel_shuffle</c>). Composed from views (view [N, g, C/g, *] → transpose(1, 2) → contiguous → view), so the
    /// gradient is the inverse shuffle and any device runs it as one copy.
    /// </summary>
    public static Tensor ChannelShuffle(Tensor x, int groups)
    {
        const string op = "channel_shuffle";
        x.StorageOf(op);
        if (x.Rank < 3) throw new ShapeException(op, $"expected an input of at least 3 dims (N, C, *), got shape {ShapeUtil.Format(x.ShapeSpan)}");
        if (groups < 1) throw new ArgumentValueException(op, $"groups must be positive, got {groups}");
        long c = x.Size(1);
        if (c % groups != 0) throw new ShapeException(op, $"groups={groups} must divide the {c} channels of the input of shape {ShapeUtil.Format(x.ShapeSpan)}");
        long[] grouped = [x.Size(0), groups, c / groups, .. x.ShapeSpan[2..]];
        return x.Reshape(grouped).Transpose(1, 2).Contiguous().View(x.ShapeSpan.ToArray());
    }
}
