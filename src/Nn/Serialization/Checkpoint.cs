using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Engine.Nn;

/// <summary>What <see cref="Checkpoint.Load"/> returns besides the restored state: the epoch and the caller's extra values.</summary>
/// <param name="Epoch">The epoch passed to <see cref="Checkpoint.Save"/>.</param>
/// <param name="Extra">The extra strings passed to <see cref="Checkpoint.Save"/> (empty when none).</param>
public sealed record CheckpointInfo(int Epoch, IReadOnlyDictionary<string, string> Extra);

/// <summary>
/// Training checkpoints for resuming: model, optimizer and scheduler state, epoch, random-number state and extra
/// values in ONE safetensors file. Tensors are named <c>model.&lt;name&gt;</c> (the model's state dict, so the
/// model part reads as a PyTorch state dict once the prefix is stripped), <c>optimizer.&lt;name&gt;</c> and
/// <c>scheduler.&lt;name&gt;</c>; the plain values are strings in <c>__metadata__</c>:
/// <c>engine.checkpoint</c> (format version), <c>epoch</c>, <c>optimizer</c> and <c>scheduler</c> (their JSON
/// values), <c>rng.seed</c> and <c>rng.offset</c> (decimal), and <c>extra</c> (a JSON object of strings).
/// Writes are atomic (see <see cref="SafeTensors"/>).
/// </summary>
public static class Checkpoint
{
    /// <summary>Metadata key marking an engine checkpoint; its value is the format version.</summary>
    public const string FormatKey = "engine.checkpoint";

    /// <summary>The format version written and read.</summary>
    public const string FormatVersion = "1";

    private const string SaveOp = "checkpoint.save";
    private const string LoadOp = "checkpoint.load";
    private const string EpochKey = "epoch", OptimizerKey = "optimizer", SchedulerKey = "scheduler";
    private const string RngSeedKey = "rng.seed", RngOffsetKey = "rng.offset", ExtraKey = "extra";
    private const string ModelPrefix = "model.", OptimizerPrefix = "optimizer.", SchedulerPrefix = "scheduler.";

    /// <summary>
    /// Writes a checkpoint of <paramref name="model"/> and, when given, <paramref name="optimizer"/>,
    /// <paramref name="scheduler"/> and <paramref name="rng"/>'s state (seed and offset), with
    /// <paramref name="epoch"/> and <paramref name="extra"/> strings, to <paramref name="path"/> atomically.
    /// </summary>
    public static void Save(string path, Module model, IStateful? optimizer = null, IStateful? scheduler = null, int epoch = 0,
        Generator? rng = null, IReadOnlyDictionary<string, string>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var meta = new Dictionary<string, string>
        {
            [FormatKey] = FormatVersion,
            [EpochKey] = epoch.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (k, t) in model.StateDict()) tensors.Add(new(ModelPrefix + k, t));
        AddState(optimizer, OptimizerPrefix, OptimizerKey);
        AddState(scheduler, SchedulerPrefix, SchedulerKey);
        if (rng is not null)
        {
            meta[RngSeedKey] = rng.Seed.ToString(CultureInfo.InvariantCulture);
            meta[RngOffsetKey] = rng.Offset.ToString(CultureInfo.InvariantCulture);
        }
        if (extra is not null)
        {
            var o = new JsonObject();
            foreach (var (k, v) in extra)
                o[k] = v ?? throw new CheckpointException(SaveOp, path, $"extra value '{k}' is null");
            meta[ExtraKey] = o.ToJsonString();
        }
        SafeTensors.Save(path, tensors, meta);

        void AddState(IStateful? part, string prefix, string key)
        {
            if (part is null) return;
            var (ts, values) = part.SaveState();
            foreach (var (k, t) in ts) tensors.Add(new(prefix + k, t));
            meta[key] = values.ToJsonString();
        }
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="Save"/>: the model (strictly: same names and shapes) and, when
    /// given, the optimizer, scheduler and random-number generator (which then continues with the same numbers as
    /// the one saved). Parts of the checkpoint that are not asked for are ignored.
    /// </summary>
    /// <remarks>
    /// Everything is checked before anything changes: the whole file (<see cref="SafeTensors.Load(string)"/>), the
    /// metadata, the presence of every part asked for, and the model's state dict. The parts are then restored in
    /// the order scheduler, optimizer, model, generator; if a part rejects its state in
    /// <see cref="IStateful.LoadState"/> (for any reason: malformed JSON values, a missing or misshapen tensor), the
    /// parts already restored are put back as they were, and the error is a <see cref="CheckpointException"/> naming the
    /// file and the part, with the part's own error as <see cref="CheckpointException.Cause"/>.
    /// </remarks>
    /// <exception cref="CheckpointException">A bad file, not a checkpoint, or a part asked for is missing or malformed (or rejected by its object).</exception>
    /// <exception cref="StateDictException">The model's names or shapes differ from the checkpoint's; nothing was loaded.</exception>
    public static CheckpointInfo Load(string path, Module model, IStateful? optimizer = null, IStateful? scheduler = null, Generator? rng = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(model);
        using var scope = Tensor.NewDisposeScope(); // loaded tensors are copied in, then released with the scope
        var all = SafeTensors.Load(path, out var meta);

        // The plain values.
        if (!meta.TryGetValue(FormatKey, out var version))
            throw Bad(path, $"not an engine checkpoint: the metadata has no '{FormatKey}' entry (a plain state dict loads with Module.Load)");
        if (version != FormatVersion)
            throw Bad(path, $"checkpoint format version '{version}' is not supported (this engine reads version {FormatVersion})");
        if (!meta.TryGetValue(EpochKey, out var epochText))
            throw Bad(path, "the checkpoint has no epoch");
        if (!int.TryParse(epochText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var epoch))
            throw Bad(path, $"the epoch '{epochText}' is not an integer");
        var extra = ParseExtra(path, meta);
        var optimizerValues = optimizer is null ? null : ParseObject(path, meta, OptimizerKey);
        var schedulerValues = scheduler is null ? null : ParseObject(path, meta, SchedulerKey);
        ulong seed = 0, offset = 0;
        if (rng is not null)
        {
            seed = ParseULong(path, meta, RngSeedKey);
            offset = ParseULong(path, meta, RngOffsetKey);
        }

        // The tensors, by part.
        StateDict modelState = new(), optimizerState = new(), schedulerState = new();
        foreach (var (k, t) in all)
        {
            if (Strip(k, ModelPrefix) is { } m) modelState.Add(m, t);
            else if (Strip(k, OptimizerPrefix) is { } o) optimizerState.Add(o, t);
            else if (Strip(k, SchedulerPrefix) is { } s) schedulerState.Add(s, t);
            else throw Bad(path, $"tensor '{k}' belongs to no part of a checkpoint (expected a '{ModelPrefix}', '{OptimizerPrefix}' or '{SchedulerPrefix}' prefix)");
        }

        // The model must match exactly, and its dtype conversions must be possible, before anything changes.
        var own = model.StateDict();
        var match = ModuleSerialization.Match(own, modelState);
        if (!match.IsExact) throw new StateDictException(match, path);
        var modelSource = ModuleSerialization.ConvertForModel(modelState, own);

        // Restore the scheduler, then the optimizer, then the model. Each part's LoadState checks its whole state (JSON
        // structure, tensor names, shapes and dtypes) before it changes anything; should one reject its state, the parts
        // already restored are put back from snapshots, so a failed load leaves model, optimizer and scheduler as they were.
        var schedulerBackup = scheduler is null ? ((StateDict, JsonObject)?)null : Snapshot(scheduler);
        var optimizerBackup = optimizer is null ? ((StateDict, JsonObject)?)null : Snapshot(optimizer);
        string part = SchedulerKey;
        try
        {
            scheduler?.LoadState(schedulerState, schedulerValues!);
            part = OptimizerKey;
            optimizer?.LoadState(optimizerState, optimizerValues!);
            part = "model";
            model.LoadStateDict(modelSource, strict: true);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string restore = "";
            try
            {
                if (schedulerBackup is var (st, sv)) scheduler!.LoadState(st, sv);
                if (optimizerBackup is var (ot, ov)) optimizer!.LoadState(ot, ov);
            }
            catch (Exception again) when (again is not OutOfMemoryException)
            {
                restore = $" (and putting the previous state back failed too: {again.Message})";
            }
            if (e is CheckpointException or StateDictException && restore.Length == 0) throw;
            throw Bad(path, $"the {part} state does not load: {e.Message}{restore}", e);
        }
        if (rng is not null)
        {
            rng.ManualSeed(seed);
            rng.Offset = offset;
        }
        return new CheckpointInfo(epoch, extra);
    }

    private static CheckpointException Bad(string path, string problem, Exception? cause = null) => new(LoadOp, path, problem, cause);

    private static string? Strip(string name, string prefix) =>
        name.Length > prefix.Length && name.StartsWith(prefix, StringComparison.Ordinal) ? name[prefix.Length..] : null;

    private static JsonObject ParseObject(string path, IReadOnlyDictionary<string, string> meta, string key)
    {
        if (!meta.TryGetValue(key, out var text)) throw Bad(path, $"the checkpoint has no {key} state");
        JsonNode? node;
        try { node = JsonNode.Parse(text); }
        catch (JsonException ex) { throw Bad(path, $"the {key} state is not valid JSON: {ex.Message}", ex); }
        return node as JsonObject ?? throw Bad(path, $"the {key} state is not a JSON object");
    }

    private static ulong ParseULong(string path, IReadOnlyDictionary<string, string> meta, string key)
    {
        if (!meta.TryGetValue(key, out var text)) throw Bad(path, $"the checkpoint has no random-number state ('{key}')");
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            throw Bad(path, $"'{key}' = '{text}' is not an unsigned 64-bit integer");
        return v;
    }

    /// <summary>
    /// The extra strings <paramref name="path"/> was saved with (<see cref="Save"/>'s <c>extra</c>; empty when none), read from
    /// the header alone; malformed extra values raise <see cref="CheckpointException"/> naming the file, as <see cref="Load"/> does.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ReadExtra(string path) => ParseExtra(path, SafeTensors.ReadHeader(path).Metadata);

    private static Dictionary<string, string> ParseExtra(string path, IReadOnlyDictionary<string, string> meta)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!meta.TryGetValue(ExtraKey, out var text)) return result;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "the extra values are not a JSON object");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"extra value '{p.Name}' is not a string");
                if (!result.TryAdd(p.Name, p.Value.GetString()!)) throw Bad(path, $"extra key '{p.Name}' appears twice");
            }
        }
        catch (JsonException ex) { throw Bad(path, $"the extra values are not valid JSON: {ex.Message}", ex); }
        catch (InvalidOperationException ex) { throw Bad(path, $"the extra values hold an invalid string: {ex.Message}", ex); }
        return result;
    }

    // A copy of a stateful object's state that survives its LoadState (tensors cloned, values deep-copied).
    private static (StateDict Tensors, JsonObject Values) Snapshot(IStateful part)
    {
        var (tensors, values) = part.SaveState();
        var copy = new StateDict();
        foreach (var (k, t) in tensors)
        {
            if (TensorBytes.IsHalf(t.DType) && t.Device == Device.Cpu)
                copy.Add(k, TensorBytes.FromHost(TensorBytes.ToHost(t, LoadOp), t.Shape, t.DType, LoadOp));
            else
                using (Tensor.NoGrad()) copy.Add(k, t.Clone());
        }
        return (copy, values.DeepClone().AsObject());
    }
}
