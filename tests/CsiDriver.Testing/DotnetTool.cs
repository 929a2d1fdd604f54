using System.Diagnostics;

namespace CsiDriver.Testing;

/// <summary>Runs one of the built programs next to the test assembly (csi-driver.dll, csictl.dll) to its exit.</summary>
public static class DotnetTool
{
    /// <summary>The exit code and what the program wrote; killed (and the test failed) if it runs past the timeout.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string dll, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }
}
