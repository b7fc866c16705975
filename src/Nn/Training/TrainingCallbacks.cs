using System.Globalization;
using System.Text;

namespace Engine.Nn;

/// <summary>
/// A console progress bar with images/s, loss and ETA, redrawn in place on a terminal; when output is
/// redirected (a log file, CI) it prints one plain line per epoch instead of control characters.
/// </summary>
public sealed class ProgressReporter(TextWriter? output = null, bool? interactive = null) : ITrainingCallback
{
    private readonly TextWriter _out = output ?? Console.Out;
    private readonly bool _interactive = interactive ?? (output is null && !Console.IsOutputRedirected);
    private DateTime _epochStart, _lastDraw;
    private int _epochs;

    /// <inheritdoc/>
    public void OnFitStart(Trainer trainer, int startEpoch, int epochs) => _epochs = epochs;

    /// <inheritdoc/>
    public void OnBatchEnd(Trainer trainer, int epoch, int batch, int batches, double loss, double imagesPerSecond)
    {
        var now = DateTime.UtcNow;
        if (batch == 1) _epochStart = now;
        if (!_interactive || (batch < batches && (now - _lastDraw).TotalMilliseconds < 100)) return;
        _lastDraw = now;
        _out.Write('\r' + BarLine(epoch, _epochs, batch, batches, loss, imagesPerSecond, (now - _epochStart).TotalSeconds) + "   ");
    }

    /// <summary>The progress line: bar, batches done, loss, rate and the time left in the epoch.</summary>
    public static string BarLine(int epoch, int epochs, int batch, int batches, double loss, double imagesPerSecond, double elapsedSeconds)
    {
        const int width = 30;
        int filled = batches == 0 ? width : width * batch / batches;
        double eta = batch == 0 ? 0 : elapsedSeconds / batch * (batches - batch);
        return string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch + 1}/{epochs} [{new string('#', filled)}{new string('.', width - filled)}] {batch}/{batches}  loss {loss:F4}  {imagesPerSecond:F0} img/s  ETA {FormatTime(eta)}");
    }

    private static string FormatTime(double s) => TimeSpan.FromSeconds(Math.Max(0, s)).ToString(s >= 3600 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public void OnBatchSkipped(Trainer trainer, int epoch, int batch, double loss)
    {
        if (_interactive) _out.Write('\r');
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warning: epoch {epoch + 1}, batch {batch}: the loss is {loss}; batch skipped"));
    }

    /// <inheritdoc/>
    public bool OnEpochEnd(Trainer trainer, EpochStats s)
    {
        if (_interactive) _out.Write('\r');
        _out.WriteLine(EpochLine(s, _epochs));
        return true;
    }

    /// <summary>The one-line summary of an epoch.</summary>
    public static string EpochLine(EpochStats s, int epochs)
    {
        var sb = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"epoch {s.Epoch + 1}/{epochs}  train loss {s.TrainLoss:F4}  train acc {100 * s.TrainTop1:F2}%"));
        if (s.TestTop1 is double t1)
            sb.Append(CultureInfo.InvariantCulture, $"  test loss {s.TestLoss:F4}  test acc {100 * t1:F2}%  top-5 {100 * s.TestTopK:F2}%");
        sb.Append(CultureInfo.InvariantCulture, $"  lr {s.LearningRate:G4}  {s.Seconds:F1}s  {s.ImagesPerSecond:F0} img/s");
        return sb.ToString();
    }
}

/// <summary>Appends one row per epoch to a CSV file (header first), flushed each epoch so a crash keeps what was done.</summary>
public sealed class CsvLogger(string path) : ITrainingCallback
{
    /// <summary>The column names.</summary>
    public const string Header = "epoch,train_loss,train_acc,test_loss,test_acc,test_top5,lr,seconds,images_per_second";

    /// <inheritdoc/>
    public void OnFitStart(Trainer trainer, int startEpoch, int epochs)
    {
        if (startEpoch == 0 || !File.Exists(path)) File.WriteAllText(path, Header + "\n");
    }

    /// <inheritdoc/>
    public bool OnEpochEnd(Trainer trainer, EpochStats s)
    {
        static string F(double? v) => v is double d ? d.ToString("R", CultureInfo.InvariantCulture) : "";
        File.AppendAllText(path, string.Join(',', (s.Epoch + 1).ToString(CultureInfo.InvariantCulture), F(s.TrainLoss), F(s.TrainTop1), F(s.TestLoss),
            F(s.TestTop1), F(s.TestTopK), F(s.LearningRate), F(s.Seconds), F(s.ImagesPerSecond)) + "\n");
        return true;
    }
}

/// <summary>Appends one JSON object per epoch to a JSON-lines file.</summary>
public sealed class JsonLinesLogger(string path) : ITrainingCallback
{
    /// <inheritdoc/>
    public void OnFitStart(Trainer trainer, int startEpoch, int epochs)
    {
        if (startEpoch == 0) File.WriteAllText(path, "");
    }

    /// <inheritdoc/>
    public bool OnEpochEnd(Trainer trainer, EpochStats s)
    {
        // JSON has no NaN or infinity: a value that is not finite (e.g. the loss of an epoch whose batches were all
        // skipped) is written as null, as an absent one.
        static double? J(double? x) => x is double v && double.IsFinite(v) ? v : null;
        var row = new Dictionary<string, object?>
        {
            ["epoch"] = s.Epoch + 1, ["train_loss"] = J(s.TrainLoss), ["train_acc"] = J(s.TrainTop1), ["test_loss"] = J(s.TestLoss),
            ["test_acc"] = J(s.TestTop1), ["test_top5"] = J(s.TestTopK), ["lr"] = J(s.LearningRate), ["seconds"] = J(s.Seconds),
            ["images_per_second"] = J(s.ImagesPerSecond),
        };
        File.AppendAllText(path, System.Text.Json.JsonSerializer.Serialize(row) + "\n");
        return true;
    }
}

/// <summary>Stops training when the test accuracy has not improved by <paramref name="minDelta"/> for <paramref name="patience"/> epochs.</summary>
public sealed class EarlyStopping(int patience, double minDelta = 0) : ITrainingCallback
{
    private double _best = double.NegativeInfinity;
    private int _bad;

    /// <summary>True once training was stopped by this callback.</summary>
    public bool Stopped { get; private set; }

    /// <inheritdoc/>
    public bool OnEpochEnd(Trainer trainer, EpochStats s)
    {
        double score = s.TestTop1 ?? s.TrainTop1;
        if (score > _best + minDelta) { _best = score; _bad = 0; return true; }
        if (++_bad >= patience) { Stopped = true; return false; }
        return true;
    }
}
