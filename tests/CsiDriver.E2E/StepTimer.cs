using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace CsiDriver.E2E;

/// <summary>Runs a test's steps one by one and reports how long each took (test output, and E2E_TIMINGS_FILE).</summary>
public sealed class StepTimer(ITestOutputHelper output, E2ESettings settings, string test)
{
    private static readonly Lock FileLock = new();

    public async Task<T> RunAsync<T>(string step, Func<Task<T>> action)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            var result = await action();
            Report(step, watch.Elapsed, "ok");
            return result;
        }
        catch
        {
            Report(step, watch.Elapsed, "FAILED");
            throw;
        }
    }

    public Task RunAsync(string step, Func<Task> action) => RunAsync(step, async () =>
    {
        await action();
        return true;
    });

    /// <summary>A line in the test's output (and the timings file) that is not a step.</summary>
    public void Note(string message) => Write($"[e2e {settings.Backend}] {test} | {message}");

    private void Report(string step, TimeSpan elapsed, string outcome) => Write(string.Create(CultureInfo.InvariantCulture,
        $"[e2e {settings.Backend}] {test} | {step}: {elapsed.TotalSeconds:0.0} s{(outcome == "ok" ? "" : " " + outcome)}"));

    private void Write(string line)
    {
        output.WriteLine(line);
        if (settings.TimingsFile is { } file)
        {
            lock (FileLock)
            {
                File.AppendAllText(file, line + Environment.NewLine);
            }
        }
    }
}
