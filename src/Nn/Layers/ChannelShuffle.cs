namespace Engine.Nn;

/// <summary>ShuffleNet's channel shuffle (PyTorch's <c>nn.ChannelShuffle</c>): interleaves <paramref name="groups"/> channel groups; see <see cref="Functional.ChannelShuffle"/>.</summary>
public sealed class ChannelShuffle(int groups) : Module
{
    /// <summary>The number of channel groups.</summary>
    public int Groups { get; } = groups >= 1 ? groups : throw new ArgumentValueException("ChannelShuffle", $"groups must be positive, got {groups}");
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Functional.ChannelShuffle(input, Groups);
    /// <inheritdoc/>
    protected override string ExtraRepr() => $"groups={Groups}";
}
