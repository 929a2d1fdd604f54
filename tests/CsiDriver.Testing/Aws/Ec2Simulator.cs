using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Testing.Aws;

/// <summary>
/// An in-process EC2 endpoint: Kestrel on 127.0.0.1 (HTTP/1.1) speaking the part of the EC2 Query API
/// the EBS backend calls (2016-11-15), with state transitions and delays, eventual consistency,
/// EC2's per-action token-bucket throttling and injectable faults. The real AWSSDK client talks to it
/// through <c>ServiceURL = Url</c>; signatures are not checked.
/// </summary>
public sealed class Ec2Simulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Ec2Service _service;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Ec2Service> _otherRegions = new(StringComparer.Ordinal);
    private readonly Ec2Throttle _throttle;

    private Ec2Simulator(WebApplication app, Ec2SimulatorOptions options)
    {
        _app = app;
        Options = options;
        _service = NewRegion(options.Region);
        _throttle = new Ec2Throttle(() => Options.Throttling, options.TimeProvider);
    }

    /// <summary>http://127.0.0.1:port/ — the ServiceURL for the SDK.</summary>
    public string Url { get; private set; } = "";

    /// <summary>Live options: changes apply to the next request.</summary>
    public Ec2SimulatorOptions Options { get; }

    public Ec2Statistics Statistics { get; } = new();

    public Ec2Faults Faults { get; } = new();

    public static async Task<Ec2Simulator> StartAsync(Ec2SimulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new Ec2SimulatorOptions();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, options.Port, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.Limits.MaxRequestBodySize = 1 << 20;
        });
        var app = builder.Build();
        var simulator = new Ec2Simulator(app, options);
        app.Run(simulator.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        simulator.Url = address.TrimEnd('/') + "/";
        return simulator;
    }

    /// <summary>Makes an instance known (AttachVolume, DescribeInstances).</summary>
    public void AddInstance(Ec2InstanceSeed instance) => _service.AddInstance(instance);

    /// <summary>The next <paramref name="count"/> volumes created go to state error instead of available, as EC2 does when it cannot make one.</summary>
    public void FailNextVolumeCreations(int count = 1) => _service.FailNextVolumeCreations(count);

    /// <summary>The volumes made to fail by <see cref="FailNextVolumeCreations"/> so far.</summary>
    public IReadOnlyList<string> FailedVolumeIds() => _service.FailedVolumeIds();

    /// <summary>Every volume, including ones still invisible to Describe* and ones being deleted.</summary>
    public IReadOnlyList<Ec2VolumeView> Volumes() => _service.Volumes();

    public Ec2VolumeView? Volume(string volumeId) => Volumes().FirstOrDefault(v => v.VolumeId == volumeId);

    /// <summary>Every snapshot, including ones still invisible to Describe*.</summary>
    public IReadOnlyList<Ec2SnapshotView> Snapshots() => _service.Snapshots();

    /// <summary>Completes every snapshot of the home region still pending (e.g. held pending by a long
    /// <see cref="Ec2SimulatorOptions.SnapshotDelay"/>) now; returns their ids.</summary>
    public IReadOnlyList<string> CompletePendingSnapshots() => _service.CompletePendingSnapshots();

    /// <summary>
    /// Every snapshot of another region's account. The simulator serves every region on its one URL and tells them
    /// apart by the region in the request's SigV4 credential scope (the SDK signs for the client's region), so a
    /// driver with --aws-ec2-region-endpoints us-west-2=URL talks to this simulator's us-west-2.
    /// </summary>
    public IReadOnlyList<Ec2SnapshotView> Snapshots(string region) => ServiceFor(region).Snapshots();

    /// <summary>Refills every token bucket (e.g. between the setup and the measured part of a benchmark).</summary>
    public void ResetThrottling() => _throttle.Reset();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private Ec2Service NewRegion(string region) => new(Options, Statistics)
    {
        Region = region,
        RegionSnapshots = (sourceRegion, id) => ServiceFor(sourceRegion).SnapshotView(id),
    };

    private Ec2Service ServiceFor(string region) =>
        region.Length == 0 || region == Options.Region ? _service : _otherRegions.GetOrAdd(region, NewRegion);

    /// <summary>The region of "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-west-2/ec2/aws4_request, ..."; empty when unsigned.</summary>
    private static string RegionOf(string authorization)
    {
        var start = authorization.IndexOf("Credential=", StringComparison.Ordinal);
        if (start < 0)
        {
            return "";
        }
        var scope = authorization[(start + "Credential=".Length)..].Split(',')[0].Split('/');
        return scope.Length >= 3 ? scope[2] : "";
    }

    private async Task HandleAsync(HttpContext context)
    {
        var requestId = Guid.NewGuid().ToString();
        var aborted = context.RequestAborted;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in context.Request.Query)
        {
            parameters[key] = value.ToString();
        }
        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync(aborted).ConfigureAwait(false);
            foreach (var (key, value) in form)
            {
                parameters[key] = value.ToString();
            }
        }
        var action = parameters.GetValueOrDefault("Action") ?? "";
        var request = new Ec2Request(action, parameters);
        var time = Options.TimeProvider.GetUtcNow();

        int status;
        byte[] body;
        string? errorCode = null;
        var throttled = false;
        try
        {
            if (Options.Latency > TimeSpan.Zero)
            {
                await Task.Delay(Options.Latency, aborted).ConfigureAwait(false);
            }
            if (action.Length == 0)
            {
                throw Ec2ErrorException.Missing("Action");
            }
            if (!Ec2Service.Actions.Contains(action))
            {
                throw new Ec2ErrorException("InvalidAction", $"The action {action} is not valid for this web service.");
            }
            if (parameters.GetValueOrDefault("Version") != "2016-11-15")
            {
                throw new Ec2ErrorException("InvalidParameterValue", $"Unsupported API version '{parameters.GetValueOrDefault("Version")}': this endpoint speaks 2016-11-15.");
            }
            var fault = Faults.Take(action);
            if (fault?.DelayBefore > TimeSpan.Zero)
            {
                await Task.Delay(fault.DelayBefore, CancellationToken.None).ConfigureAwait(false);
            }
            if (fault?.ErrorCode is { } injected)
            {
                throw new Ec2ErrorException(injected, fault.ErrorMessage, fault.StatusCode);
            }
            if (!_throttle.TryAcquire(action))
            {
                throttled = true;
                // EC2 answers throttling with 503 and RequestLimitExceeded.
                throw new Ec2ErrorException("RequestLimitExceeded", "Request limit exceeded.", 503);
            }
            var write = ServiceFor(RegionOf(context.Request.Headers.Authorization.ToString())).Handle(request);
            body = Ec2Xml.Response(action, requestId, write);
            status = 200;
            if (fault?.DelayAfter > TimeSpan.Zero)
            {
                // The change is made; the answer arrives after the client may have given up (then it never does).
                await Task.Delay(fault.DelayAfter, aborted).ConfigureAwait(false);
            }
        }
        catch (Ec2ErrorException error)
        {
            errorCode = error.Code;
            status = error.StatusCode;
            body = Ec2Xml.Error(error.Code, error.Message, requestId);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            Statistics.Record(new Ec2CallRecord(time, action, parameters, "ClientClosedRequest"), throttled: false);
            return;
        }
        Statistics.Record(new Ec2CallRecord(time, action, parameters, errorCode), throttled);

        context.Response.StatusCode = status;
        context.Response.ContentType = "text/xml;charset=UTF-8";
        context.Response.Headers["x-amzn-RequestId"] = requestId;
        context.Response.ContentLength = body.Length;
        try
        {
            await context.Response.Body.WriteAsync(body, aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException)
        {
            // The client gave up (timeout): the change, if any, stands, as it would in EC2.
        }
    }
}
