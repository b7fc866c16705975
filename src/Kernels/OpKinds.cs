namespace Engine.Kernels;

/// <summary>Elementwise operations of one operand. <c>A</c> and <c>B</c> are the op's scalar parameters.</summary>
public enum UnaryOp
{
    /// <summary>-x</summary>
    Neg,
    /// <summary>|x|</summary>
    Abs,
    /// <summary>x*x</summary>
    Square,
    /// <summary>sign(x) in {-1, 0, 1}</summary>
    Sign,
    /// <summary>x*A + B (scalar add, multiply, subtract)</summary>
    Affine,
    /// <summary>A / x</summary>
    ScalarDiv,
    /// <summary>max(x, 0)</summary>
    Relu,
    /// <summary>min(max(x, 0), 6)</summary>
    Relu6,
    /// <summary>x if x &gt; 0 else A*x</summary>
    LeakyRelu,
    /// <summary>min(max(x, A), B)</summary>
    Clamp,
    /// <summary>e^x (float)</summary>
    Exp,
    /// <summary>ln x (float)</summary>
    Log,
    /// <summary>√x (float)</summary>
    Sqrt,
    /// <summary>1/√x (float)</summary>
    Rsqrt,
    /// <summary>x^A (float)</summary>
    PowScalar,
    /// <summary>A^x (float)</summary>
    ScalarPow,
    /// <summary>1/(1+e^-x) (float)</summary>
    Sigmoid,
    /// <summary>tanh x (float)</summary>
    Tanh,
    /// <summary>x·sigmoid(x) (float)</summary>
    Silu,
    /// <summary>x·Φ(x), the exact (erf) form (float)</summary>
    Gelu,
    /// <summary>relu6(x + 3) / 6 (float)</summary>
    Hardsigmoid,
    /// <summary>x · relu6(x + 3) / 6 (float)</summary>
    Hardswish,
    /// <summary>x / (1 + |x|) (float)</summary>
    Softsign,
}

/// <summary>
/// How the tensor layer runs an activation (a <see cref="UnaryOp"/> whose gradient is one <see cref="BinaryOp"/> kernel of
/// the output gradient and one saved tensor): <c>Tensor.Apply(UnaryOp)</c> reads this row, so an activation needs no
/// tensor method of its own; its named method (<c>Relu()</c>, ...) is a one-line convenience.
/// </summary>
/// <param name="Name">The op's name in errors and in the autograd graph.</param>
/// <param name="Backward">The gradient kernel: <c>Backward(outputGradient, saved)</c>.</param>
/// <param name="SavesOutput">Whether the saved tensor is the op's output (sigmoid, tanh) rather than its input.</param>
/// <param name="FloatOnly">Whether integer inputs are refused (a <c>DTypeException</c>).</param>
public readonly record struct ActivationSpec(string Name, BinaryOp Backward, bool SavesOutput, bool FloatOnly)
{
    /// <summary>The row of <paramref name="op"/>, or null when it is not an activation (its tensor method records its own backward).</summary>
    public static ActivationSpec? Of(UnaryOp op) => op switch
    {
        UnaryOp.Relu => new("relu", BinaryOp.ReluBackward, false, false),
        UnaryOp.Relu6 => new("relu6", BinaryOp.Relu6Backward, false, false),
        UnaryOp.LeakyRelu => new("leaky_relu", BinaryOp.LeakyReluBackward, false, false),
        UnaryOp.Sigmoid => new("sigmoid", BinaryOp.SigmoidBackward, true, true),
        UnaryOp.Tanh => new("tanh", BinaryOp.TanhBackward, true, true),
        UnaryOp.Silu => new("silu", BinaryOp.SiluBackward, false, true),
        UnaryOp.Gelu => new("gelu", BinaryOp.GeluBackward, false, true),
        UnaryOp.Hardsigmoid => new("hardsigmoid", BinaryOp.HardsigmoidBackward, false, true),
        UnaryOp.Hardswish => new("hardswish", BinaryOp.HardswishBackward, false, true),
        UnaryOp.Softsign => new("softsign", BinaryOp.SoftsignBackward, false, true),
        _ => null,
    };
}

/// <summary>
/// Elementwise operations of two operands with broadcasting. The <c>...Backward</c> ops compute an input
/// gradient from the output gradient (first operand) and a saved tensor (second operand) in one pass.
/// </summary>
public enum BinaryOp
{
    /// <summary>a + b</summary>
    Add,
    /// <summary>a - b</summary>
    Sub,
    /// <summary>a * b</summary>
    Mul,
    /// <summary>a / b</summary>
    Div,
    /// <summary>a ^ b (float)</summary>
    Pow,
    /// <summary>max(a, b), NaN-propagating</summary>
    Maximum,
    /// <summary>min(a, b), NaN-propagating</summary>
    Minimum,
    /// <summary>a == b (bool output)</summary>
    Eq,
    /// <summary>a != b (bool output)</summary>
    Ne,
    /// <summary>a &lt; b (bool output)</summary>
    Lt,
    /// <summary>a &lt;= b (bool output)</summary>
    Le,
    /// <summary>a &gt; b (bool output)</summary>
    Gt,
    /// <summary>a &gt;= b (bool output)</summary>
    Ge,
    /// <summary>g * (x &gt; 0); b = x</summary>
    ReluBackward,
    /// <summary>g * (0 &lt; x &lt; 6); b = x</summary>
    Relu6Backward,
    /// <summary>g * (x &gt; 0 ? 1 : A); b = x</summary>
    LeakyReluBackward,
    /// <summary>g * (A &lt;= x &lt;= B); b = x</summary>
    ClampBackward,
    /// <summary>g * sign(x); b = x</summary>
    AbsBackward,
    /// <summary>g * A * x^(A-1); b = x</summary>
    PowScalarBackward,
    /// <summary>g * y * (1 - y); b = y = sigmoid(x)</summary>
    SigmoidBackward,
    /// <summary>g * (1 - y²); b = y = tanh(x)</summary>
    TanhBackward,
    /// <summary>g * s(x)(1 + x(1 - s(x))); b = x</summary>
    SiluBackward,
    /// <summary>g * (Φ(x) + x φ(x)); b = x</summary>
    GeluBackward,
    /// <summary>g / 6 where −3 &lt; x &lt; 3, else 0; b = x</summary>
    HardsigmoidBackward,
    /// <summary>g · (0 if x &lt; −3, 1 if x &gt; 3, else x/3 + 1/2); b = x</summary>
    HardswishBackward,
    /// <summary>g / (1 + |x|)²; b = x</summary>
    SoftsignBackward,
}

/// <summary>Reductions over one or more dimensions.</summary>
public enum ReduceOp
{
    /// <summary>Sum.</summary>
    Sum,
    /// <summary>Maximum (NaN-propagating).</summary>
    Max,
    /// <summary>Minimum (NaN-propagating).</summary>
    Min,
}

/// <summary>Distributions for random fills.</summary>
public enum RandomKind
{
    /// <summary>Uniform on [A, B).</summary>
    Uniform,
    /// <summary>Normal with mean A and standard deviation B.</summary>
    Normal,
    /// <summary>Integers uniform on [A, B).</summary>
    Integer,
    /// <summary>1 with probability A, else 0.</summary>
    Bernoulli,
}
