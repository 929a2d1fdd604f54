using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Host.Tests.Kubernetes;

/// <summary>One request the fake API server received.</summary>
public sealed record ApiRequest(string Method, string Path, string? Authorization, string? ContentType, string Body, int Status);

/// <summary>
/// An in-process Kubernetes API server (Kestrel on 127.0.0.1 only) holding Node objects: GET and JSON-patch
/// PATCH of /api/v1/nodes/{name}, bearer token check, resourceVersion bumps on every write, and scripted
/// failures (statuses to answer first, 403 on a verb, conflicts caused by a concurrent writer).
/// </summary>
public sealed class FakeKubernetesApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, JsonObject> _nodes = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private long _resourceVersion = 1000;

    private FakeKubernetesApiServer(WebApplication app) => _app = app;

    public string Token { get; set; } = "fake-token";

    public Uri BaseUri { get; private set; } = null!;

    public ConcurrentQueue<ApiRequest> Requests { get; } = new();

    /// <summary>Statuses returned (with a Status body) before any GET is served normally.</summary>
    public ConcurrentQueue<int> GetFailures { get; } = new();

    /// <summary>Statuses returned before any PATCH is served normally.</summary>
    public ConcurrentQueue<int> PatchFailures { get; } = new();

    public bool ForbidGet { get; set; }

    public bool ForbidPatch { get; set; }

    /// <summary>How many PATCHes a "concurrent writer" beats: it changes the node first, so the patch's resourceVersion test fails.</summary>
    public int ConcurrentWritesBeforePatch { get; set; }

    public static async Task<FakeKubernetesApiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeKubernetesApiServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.BaseUri = new Uri(address + "/");
        return server;
    }

    public void AddNode(string name, params (string Key, string? Value, string Effect, string? TimeAdded)[] taints)
    {
        var taintArray = new JsonArray();
        foreach (var (key, value, effect, timeAdded) in taints)
        {
            var taint = new JsonObject { ["key"] = key, ["effect"] = effect };
            if (value is not null)
            {
                taint["value"] = value;
            }
            if (timeAdded is not null)
            {
                taint["timeAdded"] = timeAdded;
            }
            taintArray.Add(taint);
        }
        var node = new JsonObject
        {
            ["kind"] = "Node",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["resourceVersion"] = NextVersion(),
                ["labels"] = new JsonObject { ["topology.kubernetes.io/zone"] = "zone-a", ["kubernetes.io/hostname"] = name },
            },
            ["spec"] = new JsonObject { ["providerID"] = "aws:///zone-a/i-0123456789abcdef0" },
        };
        if (taintArray.Count > 0)
        {
            node["spec"]!["taints"] = taintArray;
        }
        _nodes[name] = node;
    }

    /// <summary>The node's taints as (key, effect, timeAdded) now.</summary>
    public IReadOnlyList<(string Key, string Effect, string? TimeAdded)> Taints(string name)
    {
        lock (_lock)
        {
            return _nodes[name]["spec"]?["taints"]?.AsArray()
                .Select(t => (t!["key"]!.GetValue<string>(), t["effect"]!.GetValue<string>(), t["timeAdded"]?.GetValue<string>()))
                .ToList() ?? [];
        }
    }

    public string ResourceVersion(string name)
    {
        lock (_lock)
        {
            return _nodes[name]["metadata"]!["resourceVersion"]!.GetValue<string>();
        }
    }

    private string NextVersion() => Interlocked.Increment(ref _resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var body = await new StreamReader(request.Body).ReadToEndAsync();
        var (status, payload) = Handle(request.Method, request.Path.Value ?? string.Empty, request.Headers.Authorization.ToString(), request.ContentType, body);
        Requests.Enqueue(new ApiRequest(request.Method, request.Path.Value ?? string.Empty, request.Headers.Authorization.ToString(), request.ContentType, body, status));
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(payload.ToJsonString());
    }

    private (int Status, JsonNode Payload) Handle(string method, string path, string authorization, string? contentType, string body)
    {
        if (authorization != "Bearer " + Token)
        {
            return StatusBody(401, "Unauthorized", "Unauthorized");
        }
        const string prefix = "/api/v1/nodes/";
        if (!path.StartsWith(prefix, StringComparison.Ordinal))
        {
            return StatusBody(404, "NotFound", $"the server could not find the requested resource");
        }
        var name = Uri.UnescapeDataString(path[prefix.Length..]);
        var user = "system:serviceaccount:kube-system:csidriver-node";
        switch (method)
        {
            case "GET":
                if (GetFailures.TryDequeue(out var getFailure))
                {
                    return StatusBody(getFailure, "InternalError", "scripted failure");
                }
                if (ForbidGet)
                {
                    return StatusBody(403, "Forbidden", $"nodes \"{name}\" is forbidden: User \"{user}\" cannot get resource \"nodes\" in API group \"\" at the cluster scope");
                }
                lock (_lock)
                {
                    return _nodes.TryGetValue(name, out var node) ? (200, node.DeepClone()) : StatusBody(404, "NotFound", $"nodes \"{name}\" not found");
                }
            case "PATCH":
                if (PatchFailures.TryDequeue(out var patchFailure))
                {
                    return StatusBody(patchFailure, "InternalError", "scripted failure");
                }
                if (ForbidPatch)
                {
                    return StatusBody(403, "Forbidden", $"nodes \"{name}\" is forbidden: User \"{user}\" cannot patch resource \"nodes\" in API group \"\" at the cluster scope");
                }
                // Parameters such as "; charset=utf-8" are ignored, as the API server does.
                if (contentType?.Split(';')[0].Trim() != "application/json-patch+json")
                {
                    return StatusBody(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, ...; got {contentType}");
                }
                lock (_lock)
                {
                    if (!_nodes.TryGetValue(name, out var node))
                    {
                        return StatusBody(404, "NotFound", $"nodes \"{name}\" not found");
                    }
                    if (ConcurrentWritesBeforePatch > 0)
                    {
                        ConcurrentWritesBeforePatch--;
                        node["metadata"]!["labels"]!["touched-by"] = "someone-else-" + ConcurrentWritesBeforePatch;
                        node["metadata"]!["resourceVersion"] = NextVersion();
                    }
                    return ApplyPatch(node, body);
                }
            default:
                return StatusBody(405, "MethodNotAllowed", method);
        }
    }

    /// <summary>Applies test/add/replace on the paths the driver uses; a failed test is 422 as the API server answers it.</summary>
    private (int Status, JsonNode Payload) ApplyPatch(JsonObject node, string body)
    {
        var updated = (JsonObject)node.DeepClone();
        foreach (var operation in JsonNode.Parse(body)!.AsArray())
        {
            var op = operation!["op"]!.GetValue<string>();
            var path = operation["path"]!.GetValue<string>();
            switch (op, path)
            {
                case ("test", "/metadata/resourceVersion"):
                    if (updated["metadata"]!["resourceVersion"]!.GetValue<string>() != operation["value"]!.GetValue<string>())
                    {
                        return StatusBody(422, "Invalid", "the server rejected our request due to an error in our request");
                    }
                    break;
                case ("add", "/spec/taints"):
                case ("replace", "/spec/taints") when updated["spec"]!["taints"] is not null:
                    updated["spec"]!["taints"] = operation["value"]!.DeepClone();
                    break;
                default:
                    return StatusBody(422, "Invalid", $"unsupported patch op {op} {path}");
            }
        }
        updated["metadata"]!["resourceVersion"] = NextVersion();
        foreach (var property in updated.ToList())
        {
            node[property.Key] = property.Value!.DeepClone();
        }
        return (200, updated.DeepClone());
    }

    private static (int, JsonNode) StatusBody(int code, string reason, string message) =>
        (code, new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["message"] = message, ["reason"] = reason, ["code"] = code });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Collects log lines (level + rendered message + properties) for assertions.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    /// <summary>A logger for a class that takes an <see cref="ILogger{T}"/>, its category the class's name.</summary>
    public ILogger<T> CreateLogger<T>() => new TypedLogger<T>(CreateLogger(typeof(T).Name));

    public void Dispose()
    {
    }

    public string Text => string.Join("\n", Entries.Select(e => $"{e.Level} {e.Category} {e.Message}"));

    private sealed class TypedLogger<T>(ILogger inner) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }

    private sealed class CapturingLogger(CapturingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var properties = state is IEnumerable<KeyValuePair<string, object?>> pairs ? " " + string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
            provider.Entries.Enqueue((logLevel, category, formatter(state, exception) + properties + (exception is null ? string.Empty : " " + exception)));
        }
    }
}
