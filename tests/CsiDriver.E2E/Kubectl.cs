using System.Text.Json.Nodes;

namespace CsiDriver.E2E;

/// <summary>
/// kubectl as a child process. The cluster comes from KUBECONFIG, which the child inherits; E2E_KUBECTL names
/// another binary than the kubectl on PATH.
/// </summary>
public sealed class Kubectl(TimeSpan callTimeout)
{
    private readonly string _binary = Environment.GetEnvironmentVariable("E2E_KUBECTL") is { Length: > 0 } k ? k : "kubectl";

    public Task<ProcessResult> TryAsync(IEnumerable<string> args, string? stdin = null) =>
        ChildProcess.RunAsync(_binary, args, callTimeout, stdin);

    /// <summary>Runs kubectl and returns its stdout; a non-zero exit fails with kubectl's own message.</summary>
    public async Task<string> RunAsync(IEnumerable<string> args, string? stdin = null)
    {
        var list = args.ToList();
        var result = await TryAsync(list, stdin);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"kubectl {string.Join(' ', list)} failed ({result.ExitCode}): {result.StdErr.Trim()}");
        }
        return result.StdOut;
    }

    public Task<string> RunAsync(params string[] args) => RunAsync((IEnumerable<string>)args);

    /// <summary>Creates or updates objects given as YAML or JSON.</summary>
    public Task<string> ApplyAsync(string manifest, string? ns = null) =>
        RunAsync(ns is null ? ["apply", "-f", "-"] : ["apply", "-n", ns, "-f", "-"], manifest);

    /// <summary>The object as JSON, or null when it does not exist.</summary>
    public async Task<JsonNode?> GetAsync(string kind, string name, string? ns = null)
    {
        var json = await RunAsync(WithNamespace(["get", kind, name, "-o", "json", "--ignore-not-found"], ns));
        return string.IsNullOrWhiteSpace(json) ? null : JsonNode.Parse(json);
    }

    /// <summary>Every object of a kind (cluster-wide, or in one namespace), optionally filtered by field selector.</summary>
    public async Task<IReadOnlyList<JsonNode>> ListAsync(string kind, string? ns = null, string? fieldSelector = null)
    {
        var args = WithNamespace(["get", kind, "-o", "json"], ns);
        if (fieldSelector is not null)
        {
            args.AddRange(["--field-selector", fieldSelector]);
        }
        var list = JsonNode.Parse(await RunAsync(args))!;
        return list["items"]!.AsArray().Select(i => i!).ToList();
    }

    private static List<string> WithNamespace(List<string> args, string? ns)
    {
        if (ns is not null)
        {
            args.AddRange(["-n", ns]);
        }
        return args;
    }
}
