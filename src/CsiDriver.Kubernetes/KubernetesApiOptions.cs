using System.Net;
using CsiDriver.Core;
using Microsoft.Extensions.Options;

namespace CsiDriver.Kubernetes;

/// <summary>
/// Where the Kubernetes API is and how to authenticate: in a pod, from the service account mount and
/// KUBERNETES_SERVICE_HOST/PORT; in tests, an explicit base URL and token.
/// </summary>
public sealed class KubernetesApiOptions
{
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    public required Uri BaseUri { get; init; }

    /// <summary>Bearer token file, re-read on every call because projected tokens rotate.</summary>
    public string? TokenPath { get; init; }

    /// <summary>A fixed bearer token (tests); <see cref="TokenPath"/> wins when both are set.</summary>
    public string? Token { get; init; }

    /// <summary>PEM bundle the API server's certificate must chain to; null uses the system trust store.</summary>
    public string? CaCertificatePath { get; init; }

    /// <summary>Attempts per call for transient failures (5xx, 429, network, timeout).</summary>
    public int MaxAttempts { get; init; } = 5;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>True when the process runs in a pod (the API's service host is in the environment).</summary>
    public static bool InCluster(Func<string, string?>? environment = null) =>
        !string.IsNullOrEmpty((environment ?? Environment.GetEnvironmentVariable)("KUBERNETES_SERVICE_HOST"));

    /// <summary>The in-cluster configuration, or null when not running in a pod.</summary>
    public static KubernetesApiOptions? FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var host = environment("KUBERNETES_SERVICE_HOST");
        if (string.IsNullOrEmpty(host))
        {
            return null;
        }
        var port = environment("KUBERNETES_SERVICE_PORT");
        if (string.IsNullOrEmpty(port))
        {
            port = "443";
        }
        // An IPv6 service address needs brackets in a URL.
        if (IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            host = $"[{host}]";
        }
        return new KubernetesApiOptions
        {
            BaseUri = new Uri($"https://{host}:{port}/"),
            TokenPath = Path.Combine(ServiceAccountDirectory, "token"),
            CaCertificatePath = Path.Combine(ServiceAccountDirectory, "ca.crt"),
        };
    }
}

/// <summary>Checks <see cref="KubernetesApiOptions"/> at start (they come from the pod's environment, or a test).</summary>
public sealed class KubernetesApiOptionsValidator : IValidateOptions<KubernetesApiOptions>
{
    public ValidateOptionsResult Validate(string? name, KubernetesApiOptions options)
    {
        var errors = new List<string>();
        if (options.BaseUri is not { IsAbsoluteUri: true })
        {
            errors.Add($"Kubernetes API: the base URL must be absolute, got '{options.BaseUri}' (KUBERNETES_SERVICE_HOST/PORT)");
        }
        if (options.MaxAttempts < 1)
        {
            errors.Add($"Kubernetes API: at least one attempt per call, got {options.MaxAttempts}");
        }
        if (options.InitialBackoff < TimeSpan.Zero || options.MaxBackoff < options.InitialBackoff || options.RequestTimeout <= TimeSpan.Zero)
        {
            errors.Add("Kubernetes API: backoffs must not be negative, the maximum at least the initial one, and the request timeout positive");
        }
        return ValidatedOptions.ToResult(errors);
    }
}
