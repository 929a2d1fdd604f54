using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CsiDriver.Core.Observability;

/// <summary>
/// The driver's instruments on System.Diagnostics.Metrics. One instance per process (registered as a
/// singleton); the Host exports them in Prometheus text format. Backends record through this type only.
/// </summary>
public sealed class DriverMetrics : IDisposable
{
    public const string MeterName = "CsiDriver";

    private readonly Meter _meter;
    private readonly Counter<long> _rpcRequests;
    private readonly Histogram<double> _rpcDuration;
    private readonly UpDownCounter<long> _rpcInFlight;
    private readonly Counter<long> _cloudCalls;
    private readonly Histogram<double> _cloudDuration;
    private readonly Counter<long> _cloudErrors;
    private readonly Counter<long> _cloudThrottled;
    private readonly Histogram<long> _pollerBatchSize;
    private readonly Counter<long> _snapshotCopies;
    private readonly Counter<long> _snapshotCopyFailures;
    private Func<long>? _loopDevicesInUse;

    public DriverMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _rpcRequests = _meter.CreateCounter<long>("csi_rpc_requests", description: "CSI RPCs handled, by method and status code.");
        _rpcDuration = _meter.CreateHistogram<double>("csi_rpc_duration_seconds", unit: "s", description: "CSI RPC latency, by method and status code.");
        _rpcInFlight = _meter.CreateUpDownCounter<long>("csi_rpc_in_flight", description: "CSI RPCs currently being served, by method.");
        _cloudCalls = _meter.CreateCounter<long>("cloud_api_calls", description: "Cloud API calls, by backend and action.");
        _cloudDuration = _meter.CreateHistogram<double>("cloud_api_duration_seconds", unit: "s", description: "Cloud API call latency, by backend and action.");
        _cloudErrors = _meter.CreateCounter<long>("cloud_api_errors", description: "Cloud API calls that failed, by backend, action and error code.");
        _cloudThrottled = _meter.CreateCounter<long>("cloud_api_throttled", description: "Cloud API calls refused by throttling, by backend and action.");
        _pollerBatchSize = _meter.CreateHistogram<long>("poller_batch_size", description: "Waiters served by one Describe call, by resource.");
        _snapshotCopies = _meter.CreateCounter<long>("snapshot_copies_started", description: "Snapshot copies to another region started, by target region.");
        _snapshotCopyFailures = _meter.CreateCounter<long>("snapshot_copy_failures", description: "Snapshot copies to another region that failed, by target region and reason.");
        _meter.CreateObservableGauge("local_loop_devices_in_use", () => _loopDevicesInUse?.Invoke() ?? 0, description: "Loop devices attached by the local backend.");
    }

    public Meter Meter => _meter;

    public void RpcStarted(string method) => _rpcInFlight.Add(1, new KeyValuePair<string, object?>("method", method));

    public void RpcFinished(string method, string code, TimeSpan elapsed)
    {
        _rpcInFlight.Add(-1, new KeyValuePair<string, object?>("method", method));
        var tags = new TagList { { "method", method }, { "code", code } };
        _rpcRequests.Add(1, tags);
        _rpcDuration.Record(elapsed.TotalSeconds, tags);
    }

    /// <summary>Records one cloud API call. errorCode is null on success.</summary>
    public void CloudCall(string backend, string action, TimeSpan elapsed, string? errorCode, bool throttled)
    {
        var tags = new TagList { { "backend", backend }, { "action", action } };
        _cloudCalls.Add(1, tags);
        _cloudDuration.Record(elapsed.TotalSeconds, tags);
        if (errorCode is not null)
        {
            var errorTags = new TagList { { "backend", backend }, { "action", action }, { "code", errorCode } };
            _cloudErrors.Add(1, errorTags);
        }
        if (throttled)
        {
            _cloudThrottled.Add(1, tags);
        }
    }

    public void PollerBatch(string resource, int waiters) =>
        _pollerBatchSize.Record(waiters, new KeyValuePair<string, object?>("resource", resource));

    public void SnapshotCopyStarted(string region) =>
        _snapshotCopies.Add(1, new KeyValuePair<string, object?>("region", region));

    public void SnapshotCopyFailed(string region, string reason) =>
        _snapshotCopyFailures.Add(1, new KeyValuePair<string, object?>("region", region), new KeyValuePair<string, object?>("reason", reason));

    /// <summary>The local backend registers how to count its loop devices.</summary>
    public void ObserveLoopDevices(Func<long> count) => _loopDevicesInUse = count;

    public void Dispose() => _meter.Dispose();
}
