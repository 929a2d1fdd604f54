using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Kubernetes;

/// <summary>
/// Node GET and taint PATCH against the Kubernetes API over HttpClient, authenticated with the service
/// account token. Transient failures (5xx, 429, network errors, timeouts) are retried with exponential
/// backoff and jitter, a bounded number of times. A 403 becomes <see cref="UnauthorizedAccessException"/>
/// naming the RBAC permission that is missing.
/// </summary>
public sealed class InClusterKubernetesNodeApi : IKubernetesNodeApi, IDisposable
{
    private const string JsonPatchMediaType = "application/json-patch+json";

    private readonly KubernetesApiOptions _options;
    private readonly ILogger<InClusterKubernetesNodeApi> _logger;
    private readonly HttpClient _http;

    public InClusterKubernetesNodeApi(KubernetesApiOptions options, ILogger<InClusterKubernetesNodeApi> logger)
    {
        _options = options;
        _logger = logger;
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (options.CaCertificatePath is not null && options.BaseUri.Scheme == Uri.UriSchemeHttps)
        {
            var trusted = new X509Certificate2Collection();
            trusted.ImportFromPemFile(options.CaCertificatePath);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => ChainsTo(trusted, certificate, chain, errors);
        }
        _http = new HttpClient(handler) { BaseAddress = options.BaseUri, Timeout = Timeout.InfiniteTimeSpan };
    }

    public async Task<KubernetesNode?> GetNodeAsync(string name, CancellationToken cancellationToken)
    {
        var path = NodePath(name);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, path), "get", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        await EnsureSuccessAsync(response, "get", name, cancellationToken).ConfigureAwait(false);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
        return ParseNode(document.RootElement);
    }

    public async Task<bool> TryReplaceTaintsAsync(string name, string resourceVersion, IReadOnlyList<NodeTaint> taints, CancellationToken cancellationToken)
    {
        var path = NodePath(name);
        var patch = TaintPatch(resourceVersion, taints);
        using var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Patch, path) { Content = new ByteArrayContent(patch) { Headers = { ContentType = new MediaTypeHeaderValue(JsonPatchMediaType) } } },
            "patch",
            cancellationToken).ConfigureAwait(false);
        // 409: the object changed; 422: the "test" op on resourceVersion failed. Either way: re-read and retry.
        // 404: the node is gone; the caller's re-read sees that.
        if (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.UnprocessableEntity or HttpStatusCode.NotFound)
        {
            _logger.LogDebug("Kubernetes PATCH node {Node} refused with {Status}: {Reason}", name, (int)response.StatusCode, await ReasonAsync(response, cancellationToken).ConfigureAwait(false));
            return false;
        }
        await EnsureSuccessAsync(response, "patch", name, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public void Dispose() => _http.Dispose();

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

    public static KubernetesNode ParseNode(JsonElement node)
    {
        var metadata = node.GetProperty("metadata");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (metadata.TryGetProperty("labels", out var labelsElement) && labelsElement.ValueKind == JsonValueKind.Object)
        {
            foreach (var label in labelsElement.EnumerateObject())
            {
                labels[label.Name] = label.Value.GetString() ?? string.Empty;
            }
        }
        string? providerId = null;
        var taints = new List<NodeTaint>();
        if (node.TryGetProperty("spec", out var spec) && spec.ValueKind == JsonValueKind.Object)
        {
            providerId = spec.TryGetProperty("providerID", out var provider) ? provider.GetString() : null;
            if (spec.TryGetProperty("taints", out var taintsElement) && taintsElement.ValueKind == JsonValueKind.Array)
            {
                foreach (var taint in taintsElement.EnumerateArray())
                {
                    taints.Add(new NodeTaint(
                        taint.GetProperty("key").GetString() ?? string.Empty,
                        taint.TryGetProperty("value", out var value) ? value.GetString() : null,
                        taint.TryGetProperty("effect", out var effect) ? effect.GetString() ?? string.Empty : string.Empty)
                    {
                        TimeAdded = taint.TryGetProperty("timeAdded", out var added) && added.ValueKind == JsonValueKind.String
                            && DateTimeOffset.TryParse(added.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
                                ? time
                                : null,
                    });
                }
            }
        }
        return new KubernetesNode(
            metadata.GetProperty("name").GetString() ?? string.Empty,
            providerId,
            labels,
            taints,
            metadata.TryGetProperty("resourceVersion", out var version) ? version.GetString() ?? string.Empty : string.Empty);
    }

    private static string NodePath(string name) => "api/v1/nodes/" + Uri.EscapeDataString(name);

    /// <summary>Sends with bounded retries on transient failures; returns the final response (any status).</summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> createRequest, string verb, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = createRequest();
            var token = await ReadTokenAsync(cancellationToken).ConfigureAwait(false);
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            var started = Stopwatch.GetTimestamp();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RequestTimeout);
            HttpResponseMessage? response = null;
            Exception? failure = null;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (ex.InnerException is System.Security.Authentication.AuthenticationException)
            {
                // An untrusted server certificate will not become trusted by retrying.
                throw new HttpRequestException(
                    $"Kubernetes API {_options.BaseUri} presented a certificate that does not chain to {_options.CaCertificatePath ?? "the system trust store"}: {ex.InnerException.Message}",
                    ex);
            }
            catch (HttpRequestException ex)
            {
                failure = ex;
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                failure = new TimeoutException($"Kubernetes API {verb.ToUpperInvariant()} {request.RequestUri} did not answer within {_options.RequestTimeout.TotalSeconds:0} s", ex);
            }
            var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            _logger.LogDebug(
                "Kubernetes {Verb} {Path} -> {Status} in {DurationMs} ms (attempt {Attempt})",
                verb.ToUpperInvariant(), request.RequestUri, response is null ? failure!.GetType().Name : ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture),
                Math.Round(elapsedMs, 1), attempt);

            var transient = response is null || (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests;
            if (!transient)
            {
                return response!;
            }
            if (attempt >= _options.MaxAttempts)
            {
                if (response is not null)
                {
                    return response;
                }
                throw failure!;
            }
            var delay = Backoff(attempt, response?.Headers.RetryAfter?.Delta);
            response?.Dispose();
            _logger.LogDebug("Kubernetes {Verb} failed transiently; retrying in {DelayMs} ms", verb.ToUpperInvariant(), Math.Round(delay.TotalMilliseconds));
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Exponential with full jitter, at least what Retry-After asks (capped).</summary>
    private TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var ceiling = Math.Min(_options.MaxBackoff.TotalMilliseconds, _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, attempt - 1));
        var delay = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
        if (retryAfter is { } asked && asked > delay)
        {
            delay = asked < _options.MaxBackoff ? asked : _options.MaxBackoff;
        }
        return delay;
    }

    private async Task<string?> ReadTokenAsync(CancellationToken cancellationToken)
    {
        if (_options.TokenPath is null)
        {
            return _options.Token;
        }
        var token = await File.ReadAllTextAsync(_options.TokenPath, cancellationToken).ConfigureAwait(false);
        return token.Trim();
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string verb, string name, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var reason = await ReasonAsync(response, cancellationToken).ConfigureAwait(false);
        switch (response.StatusCode)
        {
            case HttpStatusCode.Forbidden:
                throw new UnauthorizedAccessException(
                    $"the Kubernetes API refused to {verb} node {name} (403): the driver's ServiceAccount needs RBAC permission '{verb} nodes' " +
                    $"(ClusterRole rule: apiGroups [\"\"], resources [\"nodes\"], verbs [\"{verb}\"]). API said: {reason}");
            case HttpStatusCode.Unauthorized:
                throw new UnauthorizedAccessException($"the Kubernetes API rejected the service account token (401) on {verb} node {name}: {reason}");
            default:
                throw new HttpRequestException($"Kubernetes API {verb} node {name} failed with {(int)response.StatusCode}: {reason}", null, response.StatusCode);
        }
    }

    /// <summary>The API's Status.message when the body is a Status object, else the start of the body.</summary>
    private static async Task<string> ReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
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

    /// <summary>Accepts a certificate that chains to the cluster CA (the only trust anchor for the API server).</summary>
    private static bool ChainsTo(X509Certificate2Collection trusted, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        // A name mismatch or a missing certificate is never excused; only the trust anchor is replaced.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }
}
