namespace Engine.Kernels.Gpu;

/// <summary>What a generated reduction kernel computes.</summary>
internal enum ReduceKind { Sum, Max, Min, ArgMax, ArgMin }

/// <summary>How the threads of a generated reduction kernel share the work of one output.</summary>
internal enum ReduceMode
{
    /// <summary>One thread per (output, chunk): a serial loop over the reduced elements (reduced dims outer, kept inner).</summary>
    Thread,
    /// <summary>One warp per (output, chunk): lanes stride over the reduced elements, then a shfl tree (reduced innermost).</summary>
    Warp,
    /// <summary>One 256-thread block per (output, chunk): warp shfl trees, then shared memory across the 8 warps.</summary>
    Block,
}

/// <summary>
/// The C# template behind every reduction kernel of <see cref="GpuBackend"/> (<c>Reduce</c> and <c>ArgReduce</c>; all
/// generated here, none hand-written). One kernel per (kind, input type, output type, mode, kept rank, reduced rank).
/// The host splits the source's dimensions into <i>kept</i> ones (the outputs, <c>M</c> of them) and <i>reduced</i> ones
/// (<c>L</c> elements per output), coalesces each group, and cuts the reduced range into chunks of <c>chunk</c> elements;
/// a work item is (chunk c, output m), numbered <c>c·M + m</c>, and its result goes to <c>dst + off(m) + c·cstride</c>:
/// the output itself (one chunk, cstride 0) or a partial in a contiguous scratch array (cstride = M) that a second
/// launch of the same template reduces over c. No float atomics: the order of every sum is fixed by the launch
/// shape, so results are the same bit for bit run to run.
/// </summary>
/// <remarks>
/// <para>Accumulators: float32 sums accumulate in float64 (rounded once at the end, so the result is close to the
/// correctly rounded sum whatever the order; float64 arithmetic is cheap next to the memory traffic of a reduction);
/// float64 in float64; int64 and int32 sums wrap exactly as the CPU's do; uint8/bool go through an int32 accumulator
/// (sums wrap mod 256 when stored, as on the CPU). Max/min propagate NaN (any NaN gives NaN). Arg kernels carry an
/// int64 index with the value and pick, between two candidates, the NaN, else the strictly larger (smaller), else on
/// a tie the lower index: the first extreme, NaN counting as the extreme, as the CPU does.</para>
/// <para>Parameter order: <c>.u64 items, M, L, chunk, src, [srci], dst, [dsti], cstride</c>; kept sizes <c>k0..</c>,
/// kept source strides <c>ks0..</c>, kept output strides <c>kd0..</c>, [kept index-output strides <c>ki0..</c>];
/// reduced sizes <c>r0..</c>, reduced source strides <c>rs0..</c> (strides in elements). <c>srci</c> (second pass of
/// an arg reduction) holds the partial indices, laid out as <c>src</c>.</para>
/// </remarks>
internal static class ReduceGen
{
    /// <summary>Threads per block of every reduction launch (the Block mode's tree assumes it).</summary>
    public const int BlockThreads = 256;

    public static bool IsArg(ReduceKind k) => k is ReduceKind.ArgMax or ReduceKind.ArgMin;

    /// <summary>The accumulator type for reducing elements of <paramref name="t"/>.</summary>
    public static ElemType AccOf(ReduceKind k, ElemType t) => t switch
    {
        ElemType.F32 => k == ReduceKind.Sum ? ElemType.F64 : ElemType.F32,
        ElemType.U8 => ElemType.S32,    // 0..255 held in 32 bits: signed compares and a wrapping sum are right
        _ => t,
    };

    /// <summary>The value a reduction of <paramref name="k"/> starts from, for elements of <paramref name="elem"/>.</summary>
    public static double Identity(ReduceKind k, ElemType elem)
    {
        bool max = k is ReduceKind.Max or ReduceKind.ArgMax;
        if (k == ReduceKind.Sum) return 0;
        return elem switch
        {
            ElemType.F32 or ElemType.F64 => max ? double.NegativeInfinity : double.PositiveInfinity,
            ElemType.S64 => max ? long.MinValue : long.MaxValue,
            ElemType.S32 => max ? int.MinValue : int.MaxValue,
            _ => max ? 0 : 255,
        };
    }

    private static string Immediate(ElemType acc, double v) => acc == ElemType.S64 && v == long.MinValue ? "-9223372036854775808"
        : acc == ElemType.S64 && v == long.MaxValue ? "9223372036854775807" : PtxGen.Immediate(acc, v);

    /// <summary>The kernel's name: every generation parameter appears in it.</summary>
    public static string Name(ReduceKind k, ElemType tin, ElemType tout, ReduceMode mode, int rk, int rr, bool argIn) =>
        $"reduce_{k.ToString().ToLowerInvariant()}_{PtxGen.TypeSuffix(tin)}_{PtxGen.TypeSuffix(tout)}_{mode.ToString().ToLowerInvariant()}_k{rk}_r{rr}{(argIn ? "_pi" : "")}";

    /// <summary>
    /// Generates the kernel. <paramref name="tin"/>: the elements read (the source's type, or the accumulator type in a
    /// second pass); <paramref name="tout"/>: what is stored (the output's type, or the accumulator type for partials).
    /// </summary>
    public static string Kernel(ReduceKind kind, ElemType tin, ElemType tout, ReduceMode mode, int rk, int rr, bool argIn)
    {
        string name = Name(kind, tin, tout, mode, rk, rr, argIn);
        bool arg = IsArg(kind);
        ElemType acc = AccOf(kind, tin);
        string a = PtxGen.TypeSuffix(acc);
        var w = new PtxWriter();

        var ps = new List<string> { ".u64 items", ".u64 M", ".u64 L", ".u64 chunk", ".u64 src" };
        if (argIn) ps.Add(".u64 srci");
        ps.Add(".u64 dst");
        if (arg) ps.Add(".u64 dsti");
        ps.Add(".u64 cstride");
        for (int d = 0; d < rk; d++) ps.Add($".u64 k{d}");
        for (int d = 0; d < rk; d++) ps.Add($".s64 ks{d}");
        for (int d = 0; d < rk; d++) ps.Add($".s64 kd{d}");
        if (arg) for (int d = 0; d < rk; d++) ps.Add($".s64 ki{d}");
        for (int d = 0; d < rr; d++) ps.Add($".u64 r{d}");
        for (int d = 0; d < rr; d++) ps.Add($".s64 rs{d}");

        const string shV = "red_v", shI = "red_i";
        if (mode == ReduceMode.Block)
        {
            // one slot per warp for the cross-warp step (8 bytes each: the widest accumulator)
            w.Emit($".shared .align 8 .b8 {shV}[{BlockThreads / 32 * 8}]");
            if (arg) w.Emit($".shared .align 8 .b8 {shI}[{BlockThreads / 32 * 8}]");
        }
        string Ld(string p) { string r = w.Reg("rd"); w.Emit($"ld.param.u64 {r}, [{p}]"); return r; }
        string items = Ld("items"), M = Ld("M"), L = Ld("L"), chunk = Ld("chunk"), src = Ld("src");
        string srci = argIn ? Ld("srci") : "";
        string dst = Ld("dst");
        string dsti = arg ? Ld("dsti") : "";
        string cstride = Ld("cstride");
        var k = new string[rk]; var ks = new string[rk]; var kd = new string[rk]; var ki = new string[rk];
        for (int d = 0; d < rk; d++) k[d] = Ld($"k{d}");
        for (int d = 0; d < rk; d++) ks[d] = Ld($"ks{d}");
        for (int d = 0; d < rk; d++) kd[d] = Ld($"kd{d}");
        if (arg) for (int d = 0; d < rk; d++) ki[d] = Ld($"ki{d}");
        var r = new string[rr]; var rs = new string[rr];
        for (int d = 0; d < rr; d++) r[d] = Ld($"r{d}");
        for (int d = 0; d < rr; d++) rs[d] = Ld($"rs{d}");

        // Work-item index, its step, and this thread's lane within the group that shares an item.
        string ctaid = w.Reg("r"), ntid = w.Reg("r"), tid = w.Reg("r"), nctaid = w.Reg("r");
        w.Emit($"mov.u32 {ctaid}, %ctaid.x");
        w.Emit($"mov.u32 {ntid}, %ntid.x");
        w.Emit($"mov.u32 {tid}, %tid.x");
        w.Emit($"mov.u32 {nctaid}, %nctaid.x");
        string item = w.Reg("rd"), step = w.Reg("rd"), lane = w.Reg("rd"), t64 = w.Reg("rd");
        switch (mode)
        {
            case ReduceMode.Thread:
                w.Emit($"mul.wide.u32 {item}, {ctaid}, {ntid}");
                w.Emit($"cvt.u64.u32 {t64}, {tid}");
                w.Emit($"add.u64 {item}, {item}, {t64}");
                w.Emit($"mul.wide.u32 {step}, {nctaid}, {ntid}");
                w.Emit($"mov.u64 {lane}, 0");
                break;
            case ReduceMode.Warp:
                w.Emit($"mul.wide.u32 {item}, {ctaid}, {ntid}");
                w.Emit($"cvt.u64.u32 {t64}, {tid}");
                w.Emit($"add.u64 {item}, {item}, {t64}");
                w.Emit($"shr.u64 {item}, {item}, 5");
                w.Emit($"mul.wide.u32 {step}, {nctaid}, {ntid}");
                w.Emit($"shr.u64 {step}, {step}, 5");
                w.Emit($"and.b64 {lane}, {t64}, 31");
                break;
            default:
                w.Emit($"cvt.u64.u32 {item}, {ctaid}");
                w.Emit($"cvt.u64.u32 {step}, {nctaid}");
                w.Emit($"cvt.u64.u32 {lane}, {tid}");
                break;
        }

        string p = w.Reg("p"), c = w.Reg("rd"), m = w.Reg("rd"), rem = w.Reg("rd"), q = w.Reg("rd"), coord = w.Reg("rd");
        string soff = w.Reg("rd"), doff = w.Reg("rd"), doffi = arg ? w.Reg("rd") : "";
        string j = w.Reg("rd"), jend = w.Reg("rd"), off = w.Reg("rd"), addr = w.Reg("rd");
        string v = w.Reg(acc), ix = arg ? w.Reg("rd") : "";     // the accumulator (and its index)
        string x = w.Reg(tin), xi = arg ? w.Reg("rd") : "";      // one element (and its index)

        w.Mark("ITEM");
        w.Emit($"setp.ge.u64 {p}, {item}, {items}");
        w.Emit($"@{p} bra DONE");
        w.Emit($"div.u64 {c}, {item}, {M}");
        w.Emit($"mul.lo.u64 {m}, {c}, {M}");
        w.Emit($"sub.u64 {m}, {item}, {m}");
        // kept coordinates of output m → source and output offsets
        w.Emit($"mov.u64 {soff}, 0");
        w.Emit($"mul.lo.u64 {doff}, {c}, {cstride}");
        if (arg) w.Emit($"mov.u64 {doffi}, {doff}");
        w.Emit($"mov.u64 {rem}, {m}");
        for (int d = rk - 1; d >= 0; d--)
        {
            string cd = rem;
            if (d > 0)
            {
                w.Emit($"div.u64 {q}, {rem}, {k[d]}");
                w.Emit($"mul.lo.u64 {coord}, {q}, {k[d]}");
                w.Emit($"sub.u64 {coord}, {rem}, {coord}");
                cd = coord;
            }
            w.Emit($"mad.lo.s64 {soff}, {cd}, {ks[d]}, {soff}");
            w.Emit($"mad.lo.s64 {doff}, {cd}, {kd[d]}, {doff}");
            if (arg) w.Emit($"mad.lo.s64 {doffi}, {cd}, {ki[d]}, {doffi}");
            if (d > 0) w.Emit($"mov.u64 {rem}, {q}");
        }
        // this chunk's range of the reduced index: [c·chunk, min(c·chunk + chunk, L))
        w.Emit($"mul.lo.u64 {j}, {c}, {chunk}");
        w.Emit($"add.u64 {jend}, {j}, {chunk}");
        w.Emit($"min.u64 {jend}, {jend}, {L}");
        w.Emit($"add.u64 {j}, {j}, {lane}");
        w.Emit($"mov.{a} {v}, {Immediate(acc, Identity(kind, tin))}");
        if (arg) w.Emit($"mov.s64 {ix}, 9223372036854775807");

        int g = mode switch { ReduceMode.Thread => 1, ReduceMode.Warp => 32, _ => BlockThreads };
        if (rr == 1)
        {
            // One reduced dim (the usual case after coalescing): four loads issued back to back per trip, so each
            // thread keeps four requests in flight; folded in index order. The ELEM loop below does the tail.
            string bstep = w.Reg("rd"), istep = argIn ? w.Reg("rd") : "", j3 = w.Reg("rd"), ia = argIn ? w.Reg("rd") : "";
            w.Emit($"mul.lo.s64 {bstep}, {rs[0]}, {g * PtxGen.Size(tin)}");
            if (argIn) w.Emit($"mul.lo.s64 {istep}, {rs[0]}, {g * 8}");
            var xs = new string[4]; var xis = new string[4];
            for (int u = 0; u < 4; u++) { xs[u] = w.Reg(tin); xis[u] = arg ? w.Reg("rd") : ""; }
            w.Mark("ELEM4");
            w.Emit($"add.u64 {j3}, {j}, {3 * g}");
            w.Emit($"setp.ge.u64 {p}, {j3}, {jend}");
            w.Emit($"@{p} bra ELEM");
            w.Emit($"mad.lo.s64 {off}, {j}, {rs[0]}, {soff}");
            w.Emit($"mad.lo.s64 {addr}, {off}, {PtxGen.Size(tin)}, {src}");
            if (argIn) w.Emit($"mad.lo.s64 {ia}, {off}, 8, {srci}");
            for (int u = 0; u < 4; u++)
            {
                if (u > 0) w.Emit($"add.s64 {addr}, {addr}, {bstep}");
                w.Emit($"ld.global.nc.{PtxGen.TypeSuffix(tin)} {xs[u]}, [{addr}]");
                if (argIn)
                {
                    if (u > 0) w.Emit($"add.s64 {ia}, {ia}, {istep}");
                    w.Emit($"ld.global.nc.s64 {xis[u]}, [{ia}]");
                }
            }
            for (int u = 0; u < 4; u++)
            {
                string xv4 = PtxGen.Convert(w, tin, acc, false, xs[u]);
                if (arg)
                {
                    if (!argIn) w.Emit($"add.u64 {xis[u]}, {j}, {u * g}");
                    CombineArg(w, kind, acc, v, ix, xv4, xis[u]);
                }
                else Combine(w, kind, acc, v, xv4);
            }
            w.Emit($"add.u64 {j}, {j}, {4 * g}");
            w.Emit("bra ELEM4");
        }

        w.Mark("ELEM");
        w.Emit($"setp.ge.u64 {p}, {j}, {jend}");
        w.Emit($"@{p} bra FOLD");
        // reduced coordinates of j → source offset
        w.Emit($"mov.u64 {off}, {soff}");
        w.Emit($"mov.u64 {rem}, {j}");
        for (int d = rr - 1; d >= 0; d--)
        {
            string cd = rem;
            if (d > 0)
            {
                w.Emit($"div.u64 {q}, {rem}, {r[d]}");
                w.Emit($"mul.lo.u64 {coord}, {q}, {r[d]}");
                w.Emit($"sub.u64 {coord}, {rem}, {coord}");
                cd = coord;
            }
            w.Emit($"mad.lo.s64 {off}, {cd}, {rs[d]}, {off}");
            if (d > 0) w.Emit($"mov.u64 {rem}, {q}");
        }
        w.Emit($"mad.lo.s64 {addr}, {off}, {PtxGen.Size(tin)}, {src}");
        w.Emit($"ld.global.nc.{PtxGen.TypeSuffix(tin)} {x}, [{addr}]");
        string xv = PtxGen.Convert(w, tin, acc, false, x);
        if (arg)
        {
            if (argIn)
            {
                w.Emit($"mad.lo.s64 {addr}, {off}, 8, {srci}");
                w.Emit($"ld.global.nc.s64 {xi}, [{addr}]");
            }
            else w.Emit($"mov.u64 {xi}, {j}");
            CombineArg(w, kind, acc, v, ix, xv, xi);
        }
        else Combine(w, kind, acc, v, xv);
        w.Emit($"add.u64 {j}, {j}, {g}");
        w.Emit("bra ELEM");

        w.Mark("FOLD");
        if (mode != ReduceMode.Thread)
        {
            WarpTree(w, kind, acc, v, ix, 16);
            if (mode == ReduceMode.Block)
            {
                // lane 0 of each warp leaves its value in shared memory; warp 0 folds the 8 of them
                string wid = w.Reg("r"), l32 = w.Reg("r"), sa = w.Reg("rd"), pz = w.Reg("p");
                w.Emit($"shr.u32 {wid}, {tid}, 5");
                w.Emit($"and.b32 {l32}, {tid}, 31");
                w.Emit($"setp.eq.u32 {pz}, {l32}, 0");
                w.Emit($"mul.wide.u32 {sa}, {wid}, 8");
                string bv = w.Reg("rd"), bi = w.Reg("rd");
                w.Emit($"mov.u64 {bv}, {shV}");
                w.Emit($"add.u64 {bv}, {bv}, {sa}");
                w.Emit($"@{pz} st.shared.{a} [{bv}], {v}");
                if (arg)
                {
                    w.Emit($"mov.u64 {bi}, {shI}");
                    w.Emit($"add.u64 {bi}, {bi}, {sa}");
                    w.Emit($"@{pz} st.shared.s64 [{bi}], {ix}");
                }
                w.Emit("bar.sync 0");
                w.Emit($"setp.ne.u32 {p}, {wid}, 0");
                w.Emit($"@{p} bra STORED");
                w.Emit($"mov.{a} {v}, {Immediate(acc, Identity(kind, tin))}");
                if (arg) w.Emit($"mov.s64 {ix}, 9223372036854775807");
                w.Emit($"setp.lt.u32 {pz}, {l32}, {BlockThreads / 32}");
                w.Emit($"mul.wide.u32 {sa}, {l32}, 8");
                w.Emit($"mov.u64 {bv}, {shV}");
                w.Emit($"add.u64 {bv}, {bv}, {sa}");
                w.Emit($"@{pz} ld.shared.{a} {v}, [{bv}]");
                if (arg)
                {
                    w.Emit($"mov.u64 {bi}, {shI}");
                    w.Emit($"add.u64 {bi}, {bi}, {sa}");
                    w.Emit($"@{pz} ld.shared.s64 {ix}, [{bi}]");
                }
                WarpTree(w, kind, acc, v, ix, BlockThreads / 64);
            }
            w.Emit($"setp.ne.u64 {p}, {lane}, 0");
            w.Emit($"@{p} bra STORED");
        }
        string outv = PtxGen.Convert(w, acc, tout, false, v);
        w.Emit($"mad.lo.s64 {addr}, {doff}, {PtxGen.Size(tout)}, {dst}");
        w.Emit($"st.global.{PtxGen.TypeSuffix(tout)} [{addr}], {outv}");
        if (arg)
        {
            w.Emit($"mad.lo.s64 {addr}, {doffi}, 8, {dsti}");
            w.Emit($"st.global.s64 [{addr}], {ix}");
        }
        w.Mark("STORED");
        if (mode == ReduceMode.Block) w.Emit("bar.sync 0");   // warp 0 has read the slots before the next item writes them
        w.Emit($"add.u64 {item}, {item}, {step}");
        w.Emit("bra ITEM");
        w.Mark("DONE");
        w.Emit("ret");
        string comment = $"{kind} of {PtxGen.TypeSuffix(tin)} into {PtxGen.TypeSuffix(tout)} (accumulator {a}), one {mode.ToString().ToLowerInvariant()} per output chunk, "
            + $"{rk} kept and {rr} reduced dims{(argIn ? ", indices read from a first pass" : "")}";
        return w.Build(name, ps, comment);
    }

    /// <summary>acc ← op(acc, x) (NaN-propagating max/min).</summary>
    private static void Combine(PtxWriter w, ReduceKind kind, ElemType acc, string v, string x)
    {
        string a = PtxGen.TypeSuffix(acc);
        if (kind == ReduceKind.Sum) { w.Emit($"add{(PtxGen.IsFloat(acc) ? ".rn" : "")}.{a} {v}, {v}, {x}"); return; }
        string mm = kind == ReduceKind.Max ? "max" : "min";
        if (!PtxGen.IsFloat(acc)) { w.Emit($"{mm}.{a} {v}, {v}, {x}"); return; }
        string p = w.Reg("p");
        w.Emit($"setp.nan.{a} {p}, {v}, {x}");                 // either is NaN
        w.Emit($"{mm}.{a} {v}, {v}, {x}");
        w.Emit($"selp.{a} {v}, {PtxGen.Immediate(acc, double.NaN)}, {v}, {p}");
    }

    /// <summary>(v, ix) ← (x, xi) when x is the better candidate: NaN first, then strictly more extreme, then on a tie the lower index.</summary>
    private static void CombineArg(PtxWriter w, ReduceKind kind, ElemType acc, string v, string ix, string x, string xi)
    {
        string a = PtxGen.TypeSuffix(acc), take = w.Reg("p"), tie = w.Reg("p");
        string better = kind == ReduceKind.ArgMax ? "gt" : "lt";
        if (PtxGen.IsFloat(acc))
        {
            string vn = w.Reg("p"), xn = w.Reg("p"), both = w.Reg("p");
            w.Emit($"setp.nan.{a} {vn}, {v}, {v}");
            w.Emit($"setp.nan.{a} {xn}, {x}, {x}");
            w.Emit($"and.pred {both}, {vn}, {xn}");
            w.Emit($"setp.eq.or.{a} {tie}, {x}, {v}, {both}");          // equal, or both NaN
            w.Emit($"setp.lt.and.s64 {tie}, {xi}, {ix}, {tie}");         // ... and x comes first
            w.Emit($"setp.{better}.or.{a} {take}, {x}, {v}, {tie}");
            w.Emit($"not.pred {vn}, {vn}");
            w.Emit($"and.pred {xn}, {xn}, {vn}");                       // x is NaN, v is not
            w.Emit($"or.pred {take}, {take}, {xn}");
        }
        else
        {
            w.Emit($"setp.eq.{a} {tie}, {x}, {v}");
            w.Emit($"setp.lt.and.s64 {tie}, {xi}, {ix}, {tie}");
            w.Emit($"setp.{better}.or.{a} {take}, {x}, {v}, {tie}");
        }
        w.Emit($"selp.{a} {v}, {x}, {v}, {take}");
        w.Emit($"selp.b64 {ix}, {xi}, {ix}, {take}");
    }

    /// <summary>Butterfly over the warp's lanes, offsets <paramref name="from"/>, from/2, ..., 1; every lane ends with the fold.</summary>
    private static void WarpTree(PtxWriter w, ReduceKind kind, ElemType acc, string v, string ix, int from)
    {
        bool arg = IsArg(kind);
        for (int s = from; s >= 1; s /= 2)
        {
            string o = Shfl(w, acc, v, s);
            if (arg)
            {
                string oi = Shfl(w, ElemType.S64, ix, s);
                CombineArg(w, kind, acc, v, ix, o, oi);
            }
            else Combine(w, kind, acc, v, o);
        }
    }

    private static string Shfl(PtxWriter w, ElemType t, string v, int s)
    {
        string o = w.Reg(t);
        if (PtxGen.Size(t) == 8)
        {
            string lo = w.Reg("r"), hi = w.Reg("r"), lo2 = w.Reg("r"), hi2 = w.Reg("r");
            w.Emit($"mov.b64 {{{lo}, {hi}}}, {v}");
            w.Emit($"shfl.sync.bfly.b32 {lo2}, {lo}, {s}, 31, -1");
            w.Emit($"shfl.sync.bfly.b32 {hi2}, {hi}, {s}, 31, -1");
            w.Emit($"mov.b64 {o}, {{{lo2}, {hi2}}}");
        }
        else
        {
            string b = w.Reg("r"), b2 = w.Reg("r");
            w.Emit($"mov.b32 {b}, {v}");
            w.Emit($"shfl.sync.bfly.b32 {b2}, {b}, {s}, 31, -1");
            w.Emit($"mov.b32 {o}, {b2}");
        }
        return o;
    }
}
