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
        w.Emit($".shared .align 8 .b8 {red}[{Threads * 8}]");
        string pd = w.Reg("rd"), pa = w.Reg("rd"), pb = w.Reg("rd"), n = w.Reg("r"), k = w.Reg("fd");
        w.Emit($"ld.param.u64 {pd}, [dst]");
        w.Emit($"ld.param.u64 {pa}, [a]");
        if (backward) w.Emit($"ld.param.u64 {pb}, [b]");
        w.Emit($"ld.param.u32 {n}, [n]");
        w.Emit($"ld.param.f64 {k}, [k]");
        string row = w.Reg("r"), tid = w.Reg("r"), step = w.Reg("r"), off = w.Reg("rd");
        w.Emit($"mov.u32 {row}, %ctaid.x");
        w.Emit($"mov.u32 {tid}, %tid.x");
        w.Emit($"mov.u32 {step}, %ntid.x");
        w.Emit($"mul.wide.u32 {off}, {row}, {n}");
        w.Emit($"shl.b64 {off}, {off}, 3");
        w.Emit($"add.u64 {pd}, {pd}, {off}");
        w.Emit($"add.u64 {pa}, {pa}, {off}");
        if (backward) w.Emit($"add.u64 {pb}, {pb}, {off}");
        string mine = w.Reg("rd"), redBase = w.Reg("rd");
        w.Emit($"mov.u64 {redBase}, {red}");
        w.Emit($"mul.wide.u32 {mine}, {tid}, 8");
        w.Emit($"add.u64 {mine}, {mine}, {redBase}");

        // for (i = tid; i < n; i += ntid) body(byte offset of element i)
        void Rows(Action<string> body)
        {
            string i = w.Reg("r"), p = w.Reg("p"), ia = w.Reg("rd");
            string top = w.NewLabel("ROW"), end = w.NewLabel("ROW_END");
            w.Emit($"mov.u32 {i}, {tid}");
            w.Mark(top);
            w.Emit($"setp.ge.u32 {p}, {i}, {n}");
            w.Emit($"@{p} bra {end}");
            w.Emit($"mul.wide.u32 {ia}, {i}, 8");
            body(ia);
            w.Emit($"add.u32 {i}, {i}, {step}");
            w.Emit($"bra {top}");
            w.Mark(end);
        }

        string Load(string basePtr, string ia)
        {
            string a = w.Reg("rd"), v = w.Reg("fd");
            w.Emit($"add.u64 {a}, {basePtr}, {ia}");
            w.Emit($"ld.global.f64 {v}, [{a}]");
            return v;
        }

        void Store(string ia, string v)
        {
            string a = w.Reg("rd");
            w.Emit($"add.u64 {a}, {pd}, {ia}");
            w.Emit($"st.global.f64 [{a}], {v}");
        }

        // every thread's value into the tree; all threads get the block's result (barrier after, so the tree can be reused)
        string BlockReduce(string v, string op)
        {
            w.Emit($"st.shared.f64 [{mine}], {v}");
            w.Emit("bar.sync 0");
            string p = w.Reg("p");
            for (int s = Threads / 2; s >= 1; s /= 2)
            {
                string x = w.Reg("fd"), y = w.Reg("fd");
                w.Emit($"setp.lt.u32 {p}, {tid}, {s}");
                w.Emit($"@{p} ld.shared.f64 {x}, [{mine}]");
                w.Emit($"@{p} ld.shared.f64 {y}, [{mine}+{s * 8}]");
                w.Emit($"@{p} {op}.f64 {x}, {x}, {y}");
                w.Emit($"@{p} st.shared.f64 [{mine}], {x}");
                w.Emit("bar.sync 0");
            }
            string r = w.Reg("fd");
            w.Emit($"ld.shared.f64 {r}, [{red}]");
            w.Emit("bar.sync 0");
            return r;
        }

        if (!backward)
        {
            // max of the raw logits (scale > 0); an all −∞ row uses 0 so that x − m is not −∞ − −∞
            string m = w.Reg("fd");
            w.Emit($"mov.f64 {m}, 0dFFF0000000000000");
            Rows(ia => { string v = Load(pa, ia); w.Emit($"max.f64 {m}, {m}, {v}"); });
            string mm = BlockReduce(m, "max");
            string pinf = w.Reg("p");
            w.Emit($"setp.eq.f64 {pinf}, {mm}, 0dFFF0000000000000");
            w.Emit($"selp.f64 {mm}, 0d0000000000000000, {mm}, {pinf}");
            // y = (x − m)·k; softmax stores e^y, log-softmax stores y; both sum e^y
            string acc = w.Reg("fd");
            w.Emit($"mov.f64 {acc}, 0d0000000000000000");
            Rows(ia =>
            {
                string v = Load(pa, ia), y = w.Reg("fd");
                w.Emit($"sub.rn.f64 {y}, {v}, {mm}");
                w.Emit($"mul.rn.f64 {y}, {y}, {k}");
                string e = PtxGen.Exp64(w, y);
                w.Emit($"add.rn.f64 {acc}, {acc}, {e}");
                Store(ia, log ? y : e);
            });
            string s = BlockReduce(acc, "add");
            // softmax: e·(1/Σ); log-softmax: y − ln Σ (each thread rereads only what it wrote)
            string c = w.Reg("fd");
            if (log) c = PtxGen.Log64(w, s);
            else w.Emit($"div.rn.f64 {c}, 0d3FF0000000000000, {s}");
            Rows(ia =>
            {
                string v = Load(pd, ia), o = w.Reg("fd");
                w.Emit(log ? $"sub.rn.f64 {o}, {v}, {c}" : $"mul.rn.f64 {o}, {v}, {c}");
                Store(ia, o);
            });
        }
        else
        {
            // a = grad, b = y. softmax: dx = k·(y·(g − Σ g·y)); log-softmax: dx = k·(g − e^y·Σ g)
            string acc = w.Reg("fd");
            w.Emit($"mov.f64 {acc}, 0d0000000000000000");
            Rows(ia =>
            {
                string g = Load(pa, ia);
                if (log) { w.Emit($"add.rn.f64 {acc}, {acc}, {g}"); return; }
                string y = Load(pb, ia), gy = w.Reg("fd");
                w.Emit($"mul.rn.f64 {gy}, {g}, {y}");
                w.Emit($"add.rn.f64 {acc}, {acc}, {gy}");
            });
            string s = BlockReduce(acc, "add");
            Rows(ia =>
            {
                string g = Load(pa, ia), y = Load(pb, ia), t = w.Reg("fd"), o = w.Reg("fd");
                if (log)
                {
                    string e = PtxGen.Exp64(w, y);
                    w.Emit($"mul.rn.f64 {t}, {e}, {s}");
                    w.Emit($"sub.rn.f64 {t}, {g}, {t}");
                    w.Emit($"mul.rn.f64 {o}, {k}, {t}");
                }
                else
                {
                    w.Emit($"sub.rn.f64 {t}, {g}, {s}");
                    w.Emit($"mul.rn.f64 {t}, {y}, {t}");
                    w.Emit($"mul.rn.f64 {o}, {k}, {t}");
                }
                Store(ia, o);
            });
        }
        w.Emit("ret");
        string[] ps = backward ? [".u64 dst", ".u64 a", ".u64 b", ".u32 n", ".f64 k"] : [".u64 dst", ".u64 a", ".u32 n", ".f64 k"];
        return w.Build(name, ps, $"SoftmaxGen: float64 {(log ? "log-softmax" : "softmax")} {(backward ? "backward" : "forward")}, one 256-thread block per row");
    }
}
