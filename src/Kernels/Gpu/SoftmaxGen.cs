namespace Engine.Kernels.Gpu;

/// <summary>
/// Generates (C# template, PtxWriter) the float64 softmax kernels; float32 uses the hand-written softmax.ptx. One
/// 256-thread block per contiguous row, the simplest correct design: each thread strides over the row, partial results
/// meet in a shared-memory tree (f64 has no shfl), e^x and ln x come from <see cref="PtxGen.Exp64"/> and
/// <see cref="PtxGen.Log64"/> (PTX has no f64 ex2/lg2), and every step follows <see cref="Engine.Kernels.Cpu.CpuSoftmax"/>'s
/// order of operations, so results differ from the CPU's only by summation order and a few ulps of exp/log.
/// </summary>
/// <remarks>
/// Memory traffic: forward reads the row twice and writes it twice (max pass, exp pass writing e or the shifted logit,
/// then a read-modify-write to normalize): 32 bytes per element; backward reads grad and y twice and writes once:
/// 40 bytes per element. Not tuned (float64 softmax is rare in training); correctness and CPU agreement first.
/// Parameters: <c>.u64 dst, .u64 a, [.u64 b,] .u32 n, .f64 k</c> (k = 1/T); grid = rows, block = <see cref="Threads"/>.
/// </remarks>
internal static class SoftmaxGen
{
    /// <summary>Threads per block (one block per row); the reduction tree is unrolled for this count.</summary>
    public const int Threads = 256;

    /// <summary>Kernel name of the forward or backward, softmax or log-softmax float64 kernel.</summary>
    public static string Name(bool backward, bool log) => $"{(log ? "log_softmax" : "softmax")}{(backward ? "_backward" : "")}_f64";

    /// <summary>The module text of kernel <see cref="Name"/>(<paramref name="backward"/>, <paramref name="log"/>).</summary>
    public static string Kernel(bool backward, bool log)
    {
        string name = Name(backward, log);
        var w = new PtxWriter();
        string red = "red";
        w.I($".shared .align 8 .b8 {red}[{Threads * 8}]");
        string pd = w.R("rd"), pa = w.R("rd"), pb = w.R("rd"), n = w.R("r"), k = w.R("fd");
        w.I($"ld.param.u64 {pd}, [dst]");
        w.I($"ld.param.u64 {pa}, [a]");
        if (backward) w.I($"ld.param.u64 {pb}, [b]");
        w.I($"ld.param.u32 {n}, [n]");
        w.I($"ld.param.f64 {k}, [k]");
        string row = w.R("r"), tid = w.R("r"), step = w.R("r"), off = w.R("rd");
        w.I($"mov.u32 {row}, %ctaid.x");
        w.I($"mov.u32 {tid}, %tid.x");
        w.I($"mov.u32 {step}, %ntid.x");
        w.I($"mul.wide.u32 {off}, {row}, {n}");
        w.I($"shl.b64 {off}, {off}, 3");
        w.I($"add.u64 {pd}, {pd}, {off}");
        w.I($"add.u64 {pa}, {pa}, {off}");
        if (backward) w.I($"add.u64 {pb}, {pb}, {off}");
        string mine = w.R("rd"), redBase = w.R("rd");
        w.I($"mov.u64 {redBase}, {red}");
        w.I($"mul.wide.u32 {mine}, {tid}, 8");
        w.I($"add.u64 {mine}, {mine}, {redBase}");

        // for (i = tid; i < n; i += ntid) body(byte offset of element i)
        void Rows(Action<string> body)
        {
            string i = w.R("r"), p = w.R("p"), ia = w.R("rd");
            string top = w.Label("ROW"), end = w.Label("ROW_END");
            w.I($"mov.u32 {i}, {tid}");
            w.L(top);
            w.I($"setp.ge.u32 {p}, {i}, {n}");
            w.I($"@{p} bra {end}");
            w.I($"mul.wide.u32 {ia}, {i}, 8");
            body(ia);
            w.I($"add.u32 {i}, {i}, {step}");
            w.I($"bra {top}");
            w.L(end);
        }

        string Load(string basePtr, string ia)
        {
            string a = w.R("rd"), v = w.R("fd");
            w.I($"add.u64 {a}, {basePtr}, {ia}");
            w.I($"ld.global.f64 {v}, [{a}]");
            return v;
        }

        void Store(string ia, string v)
        {
            string a = w.R("rd");
            w.I($"add.u64 {a}, {pd}, {ia}");
            w.I($"st.global.f64 [{a}], {v}");
        }

        // every thread's value into the tree; all threads get the block's result (barrier after, so the tree can be reused)
        string BlockReduce(string v, string op)
        {
            w.I($"st.shared.f64 [{mine}], {v}");
            w.I("bar.sync 0");
            string p = w.R("p");
            for (int s = Threads / 2; s >= 1; s /= 2)
            {
                string x = w.R("fd"), y = w.R("fd");
                w.I($"setp.lt.u32 {p}, {tid}, {s}");
                w.I($"@{p} ld.shared.f64 {x}, [{mine}]");
                w.I($"@{p} ld.shared.f64 {y}, [{mine}+{s * 8}]");
                w.I($"@{p} {op}.f64 {x}, {x}, {y}");
                w.I($"@{p} st.shared.f64 [{mine}], {x}");
                w.I("bar.sync 0");
            }
            string r = w.R("fd");
            w.I($"ld.shared.f64 {r}, [{red}]");
            w.I("bar.sync 0");
            return r;
        }

        if (!backward)
        {
            // max of the raw logits (scale > 0); an all −∞ row uses 0 so that x − m is not −∞ − −∞
            string m = w.R("fd");
            w.I($"mov.f64 {m}, 0dFFF0000000000000");
            Rows(ia => { string v = Load(pa, ia); w.I($"max.f64 {m}, {m}, {v}"); });
            string mm = BlockReduce(m, "max");
            string pinf = w.R("p");
            w.I($"setp.eq.f64 {pinf}, {mm}, 0dFFF0000000000000");
            w.I($"selp.f64 {mm}, 0d0000000000000000, {mm}, {pinf}");
            // y = (x − m)·k; softmax stores e^y, log-softmax stores y; both sum e^y
            string acc = w.R("fd");
            w.I($"mov.f64 {acc}, 0d0000000000000000");
            Rows(ia =>
            {
                string v = Load(pa, ia), y = w.R("fd");
                w.I($"sub.rn.f64 {y}, {v}, {mm}");
                w.I($"mul.rn.f64 {y}, {y}, {k}");
                string e = PtxGen.Exp64(w, y);
                w.I($"add.rn.f64 {acc}, {acc}, {e}");
                Store(ia, log ? y : e);
            });
            string s = BlockReduce(acc, "add");
            // softmax: e·(1/Σ); log-softmax: y − ln Σ (each thread rereads only what it wrote)
            string c = w.R("fd");
            if (log) c = PtxGen.Log64(w, s);
            else w.I($"div.rn.f64 {c}, 0d3FF0000000000000, {s}");
            Rows(ia =>
            {
                string v = Load(pd, ia), o = w.R("fd");
                w.I(log ? $"sub.rn.f64 {o}, {v}, {c}" : $"mul.rn.f64 {o}, {v}, {c}");
                Store(ia, o);
            });
        }
        else
        {
            // a = grad, b = y. softmax: dx = k·(y·(g − Σ g·y)); log-softmax: dx = k·(g − e^y·Σ g)
            string acc = w.R("fd");
            w.I($"mov.f64 {acc}, 0d0000000000000000");
            Rows(ia =>
            {
                string g = Load(pa, ia);
                if (log) { w.I($"add.rn.f64 {acc}, {acc}, {g}"); return; }
                string y = Load(pb, ia), gy = w.R("fd");
                w.I($"mul.rn.f64 {gy}, {g}, {y}");
                w.I($"add.rn.f64 {acc}, {acc}, {gy}");
            });
            string s = BlockReduce(acc, "add");
            Rows(ia =>
            {
                string g = Load(pa, ia), y = Load(pb, ia), t = w.R("fd"), o = w.R("fd");
                if (log)
                {
                    string e = PtxGen.Exp64(w, y);
                    w.I($"mul.rn.f64 {t}, {e}, {s}");
                    w.I($"sub.rn.f64 {t}, {g}, {t}");
                    w.I($"mul.rn.f64 {o}, {k}, {t}");
                }
                else
                {
                    w.I($"sub.rn.f64 {t}, {g}, {s}");
                    w.I($"mul.rn.f64 {t}, {y}, {t}");
                    w.I($"mul.rn.f64 {o}, {k}, {t}");
                }
                Store(ia, o);
            });
        }
        w.I("ret");
        string[] ps = backward ? [".u64 dst", ".u64 a", ".u64 b", ".u32 n", ".f64 k"] : [".u64 dst", ".u64 a", ".u32 n", ".f64 k"];
        return w.Build(name, ps, $"SoftmaxGen: float64 {(log ? "log-softmax" : "softmax")} {(backward ? "backward" : "forward")}, one 256-thread block per row");
    }
}
