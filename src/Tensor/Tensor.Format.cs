using System.Globalization;
using System.Text;
using Engine.Kernels;

namespace Engine;

public sealed partial class Tensor
{
    private const int SummaryThreshold = 1000, EdgeItems = 3;

    /// <summary>
    /// Formats like PyTorch: <c>tensor([[1.0000, 2.5000], …])</c>, with all values sharing one format, rows
    /// summarised with "..." beyond 1000 elements, and the dtype (when not float32 or int64), device (when not
    /// the CPU), shape (when summarised or empty) and grad state appended.
    /// </summary>
    public override string ToString()
    {
        if (IsDisposed) return $"tensor(<disposed>, shape={ShapeUtil.Format(_shape)}, dtype={DType.Name()})";
        double[] v;
        using (GradMode.Disable()) v = ToDoubleArray();
        bool summarize = NumEl > SummaryThreshold;
        var fmt = ChooseFormat(v, DType);
        var sb = new StringBuilder("tensor(");
        const int indent = 7;
        if (Rank == 0) sb.Append(fmt(v[0]));
        else FormatDim(sb, v, 0, 0, ShapeUtil.ContiguousStrides(_shape), fmt, summarize, indent);
        if (summarize || NumEl == 0) sb.Append(", size=(").Append(string.Join(", ", _shape)).Append(_shape.Length == 1 ? ",)" : ")");
        if (Device != Device.Cpu) sb.Append(", device='").Append(Device).Append('\'');
        if (DType is not (DType.Float32 or DType.Int64 or DType.Bool)) sb.Append(", dtype=torch.").Append(DType.Name());
        if (GradFn is not null) sb.Append(", grad_fn=<").Append(GradFn.Name).Append("Backward>");
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    private void FormatDim(StringBuilder sb, double[] v, int dim, long offset, long[] strides, Func<double, string> fmt, bool summarize, int indent)
    {
        long n = _shape[dim];
        sb.Append('[');
        bool last = dim == Rank - 1;
        for (long i = 0; i < n; i++)
        {
            if (summarize && n > 2 * EdgeItems && i == EdgeItems)
            {
                sb.Append(last ? "..., " : "...,\n" + new string('\n', Rank - dim - 2) + new string(' ', indent + dim + 1));
                i = n - EdgeItems - 1;
                continue;
            }
            if (last) sb.Append(fmt(v[offset + i * strides[dim]]));
            else FormatDim(sb, v, dim + 1, offset + i * strides[dim], strides, fmt, summarize, indent);
            if (i < n - 1) sb.Append(last ? ", " : ",\n" + new string('\n', Rank - dim - 2) + new string(' ', indent + dim + 1));
        }
        sb.Append(']');
    }

    private static Func<double, string> ChooseFormat(double[] v, DType dtype)
    {
        var inv = CultureInfo.InvariantCulture;
        if (dtype == DType.Bool)
        {
            bool anyFalse = Array.IndexOf(v, 0.0) >= 0;
            return x => (x != 0 ? "True" : "False").PadLeft(anyFalse ? 5 : 4);
        }
        if (!dtype.IsFloatingPoint())
        {
            int w = 1;
            foreach (var x in v) w = Math.Max(w, ((long)x).ToString(inv).Length);
            return x => ((long)x).ToString(inv).PadLeft(w);
        }
        double maxAbs = 0, minAbs = double.PositiveInfinity;
        bool allInt = true;
        foreach (var x in v)
        {
            if (!double.IsFinite(x)) continue;
            double a = Math.Abs(x);
            maxAbs = Math.Max(maxAbs, a);
            if (a > 0) minAbs = Math.Min(minAbs, a);
            if (x != Math.Floor(x)) allInt = false;
        }
        bool sci = maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs > 0) || (minAbs > 0 && maxAbs / minAbs > 1000 && !allInt);
        Func<double, string> f;
        if (sci) f = x => x.ToString("0.0000e+00", inv);
        else if (allInt) f = x => x.ToString("0", inv) + ".";
        else f = x => x.ToString("0.0000", inv);
        int width = 1;
        foreach (var x in v) width = Math.Max(width, Special(x) ?? f(x).Length);
        return x => (SpecialText(x) ?? f(x)).PadLeft(width);

        static int? Special(double x) => SpecialText(x)?.Length;
        static string? SpecialText(double x) => double.IsNaN(x) ? "nan" : double.IsPositiveInfinity(x) ? "inf" : double.IsNegativeInfinity(x) ? "-inf" : null;
    }
}
