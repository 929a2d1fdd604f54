using System.Diagnostics;

namespace CsiDriver.Deploy.Tests;

/// <summary>
/// Renders a kustomization with `kubectl kustomize` (offline, no cluster needed). A missing kubectl
/// is a failure with instructions, never a skip: these checks are what keeps the install working.
/// </summary>
internal static class Kustomize
{
    private static readonly Dictionary<string, Lazy<IReadOnlyList<Yaml>>> Cache = new(StringComparer.Ordinal);
    private static readonly Lock CacheLock = new();

    public const string MissingKubectlHelp =
        "kubectl is required to render deploy/kubernetes (kubectl kustomize, offline). " +
        "Install it with scripts/install-prerequisites.sh, from your distribution (Debian: the 'kubectl' package of the Kubernetes " +
        "or Google Cloud apt repository), or set KUBECTL to its path.";

    /// <summary>The kubectl the tests use: $KUBECTL, else the first kubectl on PATH, else null.</summary>
    public static string? FindKubectl()
    {
        var explicitPath = Environment.GetEnvironmentVariable("KUBECTL");
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath) ? explicitPath : null;
        }
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "kubectl"))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>The overlay's documents, rendered once per test run.</summary>
    public static IReadOnlyList<Yaml> Render(string overlay)
    {
        Lazy<IReadOnlyList<Yaml>> lazy;
        lock (CacheLock)
        {
            if (!Cache.TryGetValue(overlay, out lazy!))
            {
                var dir = RepoPaths.Overlay(overlay);
                lazy = new Lazy<IReadOnlyList<Yaml>>(() => Yaml.ParseStream(Run(FindKubectl(), dir), $"overlays/{overlay}"));
                Cache[overlay] = lazy;
            }
        }
        return lazy.Value;
    }

    /// <summary>Runs `kubectl kustomize dir`; throws with the reason (missing kubectl, render error).</summary>
    public static string Run(string? kubectl, string directory)
    {
        if (kubectl is null || !File.Exists(kubectl))
        {
            throw new InvalidOperationException(MissingKubectlHelp);
        }
        var start = new ProcessStartInfo(kubectl)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("kustomize");
        start.ArgumentList.Add(directory);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {kubectl}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kubectl kustomize {directory} did not finish in 2 minutes");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"kubectl kustomize {directory} failed ({process.ExitCode}): {stderr.Result}");
        }
        return stdout.Result;
    }
}
