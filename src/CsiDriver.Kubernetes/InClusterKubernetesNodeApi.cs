using System.Globalization;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Kubernetes;

/// <summary>
/// Node get and taint patch through KubernetesClient (the AOT package: source-generated JSON, no reflection),
/// authenticated with the service account token and trusting the cluster CA. Transient failures are retried by
/// <see cref="KubernetesRetryHandler"/> (Polly); what is left is mapping the API's answers to what callers need:
/// 404 → null/false, 409/422 → false (re-read), 403/401 → <see cref="UnauthorizedAccessException"/> naming the
/// missing RBAC rule, an untrusted server certificate → an error naming the CA file, never retried.
/// </summary>
public sealed class InClusterKubernetesNodeApi : IKubernetesNodeApi, IDisposable
{
    private readonly KubernetesApiOptions _options;
    private readonly k8s.Kubernetes _client;

    public InClusterKubernetesNodeApi(IOptions<KubernetesApiOptions> options, ILogger<InClusterKubernetesNodeApi> logger)
        : this(options, logger, TimeProvider.System)
    {
    }

    public InClusterKubernetesNodeApi(IOptions<KubernetesApiOptions> apiOptions, ILogger<InClusterKubernetesNodeApi> logger, TimeProvider timeProvider)
    {
        var options = apiOptions.Value;
        _options = options;
        var configuration = new KubernetesClientConfiguration
        {
            Host = options.BaseUri.ToString(),
            TokenProvider = options.TokenPath is not null || options.Token is not null ? new ServiceAccountTokenProvider(options) : null,
            SslCaCerts = options.CaCertificatePath is not null && options.BaseUri.Scheme == Uri.UriSchemeHttps
                ? LoadPem(options.CaCertificatePath)
                : null,
            // Each attempt has its own timeout in the retry pipeline; the client's overall one would cut retries short.
            HttpClientTimeout = Timeout.InfiniteTimeSpan,
        };
        // Outermost first: retries wrap the per-attempt log line, so every attempt is logged.
        _client = new k8s.Kubernetes(configuration,
            new KubernetesRetryHandler(options, logger, timeProvider),
            new KubernetesCallLogHandler(logger));
    }

    public async Task<KubernetesNode?> GetNodeAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var node = await _client.CoreV1.ReadNodeAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return ToNode(node);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception ex) when (Translate(ex, "get", name) is { } translated)
        {
            throw translated;
        }
    }

    public async Task<bool> TryReplaceTaintsAsync(string name, string resourceVersion, IReadOnlyList<NodeTaint> taints, CancellationToken cancellationToken)
    {
        var patch = new V1Patch(Encoding.UTF8.GetString(TaintPatch(resourceVersion, taints)), V1Patch.PatchType.JsonPatch);
        try
        {
            await _client.CoreV1.PatchNodeAsync(patch, name, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        // 409: the object changed; 422: the "test" op on resourceVersion failed. Either way: re-read and retry.
        // 404: the node is gone; the caller's re-read sees that.
        catch (HttpOperationException ex) when (ex.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.UnprocessableEntity or HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (Exception ex) when (Translate(ex, "patch", name) is { } translated)
        {
            throw translated;
        }
    }

    public void Dispose() => _client.Dispose();

    private static X509Certificate2Collection LoadPem(string path)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(path);
        return certificates;
    }

    /// <summary>
    /// A JSON patch that only applies to the version the caller read ("test" on resourceVersion), then sets
    /// spec.taints. "add" on an object member replaces it when present and also works when the node has no taints field.
    /// </summary>
    public static byte[] TaintPatch(string resourceVersion, IReadOnlyList<NodeTaint> taints)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartArray();
            json.WriteStartObject();
            json.WriteString("op", "test");
            json.WriteString("path", "/metadata/resourceVersion");
            json.WriteString("value", resourceVersion);
            json.WriteEndObject();
            json.WriteStartObject();
            json.WriteString("op", "add");
            json.WriteString("path", "/spec/taints");
            json.WriteStartArray("value");
            foreach (var taint in taints)
            {
                json.WriteStartObject();
                json.WriteString("key", taint.Key);
                if (!string.IsNullOrEmpty(taint.Value))
                {
                    json.WriteString("value", taint.Value);
                }
                json.WriteString("effect", taint.Effect);
                if (taint.TimeAdded is { } added)
                {
                    json.WriteString("timeAdded", added.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
        }
        return stream.ToArray();
    }

    /// <summary>The parts of a V1Node the driver reads.</summary>
    public static KubernetesNode ToNode(V1Node node) => new(
        node.Metadata?.Name ?? string.Empty,
        node.Spec?.ProviderID,
        node.Metadata?.Labels is { } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : new Dictionary<string, string>(StringComparer.Ordinal),
        node.Spec?.Taints?.Select(t => new NodeTaint(t.Key ?? string.Empty, t.Value, t.Effect ?? string.Empty)
        {
            TimeAdded = t.TimeAdded is { } added ? new DateTimeOffset(DateTime.SpecifyKind(added, DateTimeKind.Utc)) : null,
        }).ToList() ?? [],
        node.Metadata?.ResourceVersion ?? string.Empty);

    /// <summary>What a caller can act on, or null for exceptions that pass through unchanged (cancellation, ...).</summary>
    private Exception? Translate(Exception exception, string verb, string name)
    {
        switch (exception)
        {
            case HttpOperationException { Response.StatusCode: HttpStatusCode.Forbidden } ex:
                return new UnauthorizedAccessException(
                    $"the Kubernetes API refused to {verb} node {name} (403): the driver's ServiceAccount needs RBAC permission '{verb} nodes' " +
                    $"(ClusterRole rule: apiGroups [\"\"], resources [\"nodes\"], verbs [\"{verb}\"]). API said: {Reason(ex)}");
            case HttpOperationException { Response.StatusCode: HttpStatusCode.Unauthorized } ex:
                return new UnauthorizedAccessException($"the Kubernetes API rejected the service account token (401) on {verb} node {name}: {Reason(ex)}");
            case HttpOperationException ex:
                return new HttpRequestException($"Kubernetes API {verb} node {name} failed with {(int)ex.Response.StatusCode}: {Reason(ex)}", ex, ex.Response.StatusCode);
            case HttpRequestException { InnerException: AuthenticationException untrusted } ex:
                // An untrusted server certificate will not become trusted by retrying (the retry handler does not).
                return new HttpRequestException(
                    $"Kubernetes API {_options.BaseUri} presented a certificate that does not chain to {_options.CaCertificatePath ?? "the system trust store"}: {untrusted.Message}",
                    ex);
            default:
                return null;
        }
    }

    /// <summary>The API's Status.message when the body is a Status object, else the start of the body.</summary>
    private static string Reason(HttpOperationException exception)
    {
        var body = exception.Response.Content ?? string.Empty;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("message", out var message))
            {
                return message.GetString() ?? string.Empty;
            }
        }
        catch (JsonException)
        {
        }
        return body.Length > 200 ? body[..200] : body;
    }
}
