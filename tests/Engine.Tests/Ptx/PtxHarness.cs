using System.Security.Cryptography;
using System.Text;
using Engine.Kernels.Ptx;

namespace Engine.Tests.Ptx;

/// <summary>
/// Helpers for the emulator tests: PTX module headers, a harness that runs one instruction sequence per thread on
/// given operands, and float bit conversions. Set PTX_DUMP_DIR to write every loaded module to a file, so the test
/// PTX can be checked with NVIDIA's ptxas (ptxas -arch=sm_80 file.ptx).
/// </summary>
internal static class PtxHarness
{
    public const string Header = ".version 7.0\n.target sm_80\n.address_size 64\n\n";

    /// <summary>Loads a module made of <see cref="Header"/> and <paramref name="body"/>.</summary>
    public static PtxModule Load(string body) => PtxModule.Load(Dump(Header + body));

    /// <summary>Writes PTX text to PTX_DUMP_DIR (when set) and returns it.</summary>
    public static string Dump(string text)
    {
        var dir = Environment.GetEnvironmentVariable("PTX_DUMP_DIR");
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
            var name = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
            File.WriteAllText(Path.Combine(dir, $"{TestContext.CurrentContext.Test.MethodName}-{name}.ptx"), text);
        }
        return text;
    }

    public static ulong F(float x) => BitConverter.SingleToUInt32Bits(x);

    public static ulong D(double x) => BitConverter.DoubleToUInt64Bits(x);

    public static float ToF(ulong bits) => BitConverter.UInt32BitsToSingle((uint)bits);

    public static double ToD(ulong bits) => BitConverter.UInt64BitsToDouble(bits);

    private static int Bits(string type) => type switch
    {
        ".b16" or ".u16" or ".s16" => 16,
        ".b32" or ".u32" or ".s32" or ".f32" => 32,
        _ => 64,
    };

    /// <summary>
    /// The kernel of <see cref="Apply"/>: thread i loads %a, %b, %c (type <paramref name="inType"/>; for .pred,
    /// %pa, %pb, %pc from non-zero words) from row i, runs <paramref name="code"/>, and stores %d (type
    /// <paramref name="outType"/>, or %p for .pred) and %q (as 0 or 1). Scratch registers: %r0-%r7 (.b32),
    /// %x0-%x3 (.b64), %f0-%f3 (.f32), %pp0-%pp3 (.pred).
    /// </summary>
    public static string HarnessKernel(string inType, string outType, string code)
    {
        var sb = new StringBuilder();
        sb.Append(".visible .entry harness(.param .u64 pin, .param .u64 pout)\n{\n");
        if (inType != ".pred") sb.Append($"    .reg {inType} %a, %b, %c;\n");
        if (outType != ".pred") sb.Append($"    .reg {outType} %d;\n");
        sb.Append("""
                .reg .pred %p, %q, %pa, %pb, %pc, %pp<4>;
                .reg .b32 %t<4>, %r<8>;
                .reg .b64 %rd<6>, %x<4>;
                .reg .f32 %f<4>;
                ld.param.u64 %rd1, [pin];
                ld.param.u64 %rd2, [pout];
                mov.u32 %t0, %tid.x;
                mul.wide.u32 %rd3, %t0, 24;
                add.s64 %rd4, %rd1, %rd3;

            """);
        if (inType == ".pred")
        {
            sb.Append("""
                    ld.global.u32 %t1, [%rd4];
                    setp.ne.u32 %pa, %t1, 0;
                    ld.global.u32 %t1, [%rd4+8];
                    setp.ne.u32 %pb, %t1, 0;
                    ld.global.u32 %t1, [%rd4+16];
                    setp.ne.u32 %pc, %t1, 0;

                """);
        }
        else
        {
            int bits = Bits(inType);
            sb.Append($"    ld.global.b{bits} %a, [%rd4];\n    ld.global.b{bits} %b, [%rd4+8];\n    ld.global.b{bits} %c, [%rd4+16];\n");
        }
        sb.Append("    mov.pred %q, 0;\n");
        foreach (var line in code.Split('\n')) sb.Append("    ").Append(line.Trim()).Append('\n');
        sb.Append("    mul.wide.u32 %rd3, %t0, 16;\n    add.s64 %rd5, %rd2, %rd3;\n");
        if (outType == ".pred") sb.Append("    selp.u32 %t2, 1, 0, %p;\n    st.global.u32 [%rd5], %t2;\n");
        else sb.Append($"    st.global.b{Bits(outType)} [%rd5], %d;\n");
        sb.Append("    selp.u32 %t3, 1, 0, %q;\n    st.global.u32 [%rd5+8], %t3;\n    ret;\n}\n");
        return sb.ToString();
    }

    /// <summary>Runs <paramref name="code"/> once per row (one thread each); returns per row (%d, %q).</summary>
    public static (ulong D, bool Q)[] Apply(string inType, string outType, string code, params ulong[][] rows)
    {
        var module = Load(HarnessKernel(inType, outType, code));
        using var dev = new EmulatedDevice();
        var input = new ulong[rows.Length * 3];
        for (int i = 0; i < rows.Length; i++)
            for (int k = 0; k < rows[i].Length; k++) input[i * 3 + k] = rows[i][k];
        var din = dev.Alloc(input);
        var dout = dev.Alloc(rows.Length * 16L);
        dev.Launch(module, "harness", 1, rows.Length, 0, din, dout);
        var o = dev.Download<ulong>(dout);
        return Enumerable.Range(0, rows.Length).Select(i => (o[2 * i], o[2 * i + 1] != 0)).ToArray();
    }

    /// <summary>Runs <paramref name="code"/> on one row of operands and returns %d.</summary>
    public static ulong Apply1(string inType, string outType, string code, ulong a = 0, ulong b = 0, ulong c = 0) =>
        Apply(inType, outType, code, [a, b, c])[0].D;
}
