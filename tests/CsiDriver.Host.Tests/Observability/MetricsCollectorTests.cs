using CsiDriver.Core.Observability;
using CsiDriver.Host.Observability;
using Microsoft.Extensions.Logging.Abstractions;

namespace CsiDriver.Host.Tests.Observability;

public sealed class MetricsCollectorTests
{
    private static (IReadOnlyDictionary<string, string> Types, IReadOnlyList<Sample> Samples) Scrape(MetricsCollector collector)
    {
        var (types, samples) = PrometheusText.Parse(collector.Scrape());
        PrometheusText.AssertHistogramInvariants(types, samples);
        return (types, samples);
    }

    [Fact]
    public void Rpc_counts_latency_and_in_flight_are_exposed_per_method_and_code()
    {
        using var metrics = new DriverMetrics();
        using var collector = new MetricsCollector(metrics, NullLogger<MetricsCollector>.Instance);

        metrics.RpcStarted("CreateVolume");
        metrics.RpcFinished("CreateVolume", "OK", TimeSpan.FromMilliseconds(30));
        metrics.RpcStarted("CreateVolume");
        metrics.RpcFinished("CreateVolume", "Aborted", TimeSpan.FromSeconds(2));
        metrics.RpcStarted("CreateVolume");
        metrics.RpcStarted("DeleteVolume");
        metrics.RpcFinished("DeleteVolume", "OK", TimeSpan.FromSeconds(700));

        var (types, samples) = Scrape(collector);

        Assert.Equal("counter", types["csidriver_csi_rpc_requests_total"]);
        Assert.Equal("histogram", types["csidriver_csi_rpc_duration_seconds"]);
        Assert.Equal("gauge", types["csidriver_csi_rpc_in_flight"]);
        double Value(string name, params (string Key, string Value)[] labels) =>
            samples.Single(s => s.Name == name && labels.All(l => s.Label(l.Key) == l.Value) && s.Labels.Count == labels.Length).Value;
        Assert.Equal(1, Value("csidriver_csi_rpc_requests_total", ("method", "CreateVolume"), ("code", "OK")));
        Assert.Equal(1, Value("csidriver_csi_rpc_requests_total", ("method", "CreateVolume"), ("code", "Aborted")));
        Assert.Equal(1, Value("csidriver_csi_rpc_in_flight", ("method", "CreateVolume")));
        Assert.Equal(0, Value("csidriver_csi_rpc_in_flight", ("method", "DeleteVolume")));
        // 0.03 s falls in le=0.05 but not le=0.025; 700 s is above every bound.
        Assert.Equal(0, Value("csidriver_csi_rpc_duration_seconds_bucket", ("method", "CreateVolume"), ("code", "OK"), ("le", "0.025")));
        Assert.Equal(1, Value("csidriver_csi_rpc_duration_seconds_bucket", ("method", "CreateVolume"), ("code", "OK"), ("le", "0.05")));
        Assert.Equal(0, Value("csidriver_csi_rpc_duration_seconds_bucket", ("method", "DeleteVolume"), ("code", "OK"), ("le", "600")));
        Assert.Equal(1, Value("csidriver_csi_rpc_duration_seconds_bucket", ("method", "DeleteVolume"), ("code", "OK"), ("le", "+Inf")));
        Assert.Equal(700, Value("csidriver_csi_rpc_duration_seconds_sum", ("method", "DeleteVolume"), ("code", "OK")));
    }

    [Fact]
    public void Cloud_calls_errors_and_throttles_are_counted_by_action_and_code()
    {
        using var metrics = new DriverMetrics();
        using var collector = new MetricsCollector(metrics, NullLogger<MetricsCollector>.Instance);

        metrics.CloudCall("aws", "CreateVolume", TimeSpan.FromMilliseconds(120), null, throttled: false);
        metrics.CloudCall("aws", "CreateVolume", TimeSpan.FromMilliseconds(80), "RequestLimitExceeded", throttled: true);
        metrics.CloudCall("aws", "AttachVolume", TimeSpan.FromMilliseconds(80), "VolumeInUse", throttled: false);

        var (types, samples) = Scrape(collector);

        Assert.Equal("counter", types["csidriver_cloud_api_calls_total"]);
        Assert.Equal("counter", types["csidriver_cloud_api_errors_total"]);
        Assert.Equal("counter", types["csidriver_cloud_api_throttled_total"]);
        Assert.Equal(2, samples.Single(s => s.Name == "csidriver_cloud_api_calls_total" && s.Label("action") == "CreateVolume").Value);
        Assert.Equal(1, samples.Single(s => s.Name == "csidriver_cloud_api_errors_total" && s.Label("code") == "RequestLimitExceeded").Value);
        Assert.Equal(1, samples.Single(s => s.Name == "csidriver_cloud_api_errors_total" && s.Label("code") == "VolumeInUse" && s.Label("action") == "AttachVolume").Value);
        Assert.Equal(1, samples.Single(s => s.Name == "csidriver_cloud_api_throttled_total").Value);
        Assert.DoesNotContain(samples, s => s.Name == "csidriver_cloud_api_throttled_total" && s.Label("action") == "AttachVolume");
        Assert.Equal(2, samples.Single(s => s.Name == "csidriver_cloud_api_duration_seconds_count" && s.Label("action") == "CreateVolume").Value);
    }

    [Fact]
    public void Poller_batch_sizes_use_size_buckets_with_inclusive_upper_bounds()
    {
        using var metrics = new DriverMetrics();
        using var collector = new MetricsCollector(metrics, NullLogger<MetricsCollector>.Instance);

        metrics.PollerBatch("volume", 1);
        metrics.PollerBatch("volume", 5);
        metrics.PollerBatch("volume", 6);
        metrics.PollerBatch("volume", 1000);

        var (_, samples) = Scrape(collector);
        var buckets = samples.Where(s => s.Name == "csidriver_poller_batch_size_bucket").ToDictionary(s => s.Label("le"), s => s.Value);

        Assert.Equal(MetricsCollector.SizeBuckets.Length + 1, buckets.Count);
        Assert.Equal(1, buckets["1"]);
        Assert.Equal(2, buckets["5"]);
        Assert.Equal(3, buckets["10"]);
        Assert.Equal(3, buckets["500"]);
        Assert.Equal(4, buckets["+Inf"]);
        Assert.Equal(1012, samples.Single(s => s.Name == "csidriver_poller_batch_size_sum").Value);
    }

    [Fact]
    public void Loop_device_gauge_is_read_at_scrape_time()
    {
        using var metrics = new DriverMetrics();
        using var collector = new MetricsCollector(metrics, NullLogger<MetricsCollector>.Instance);
        long devices = 2;
        metrics.ObserveLoopDevices(() => devices);

        Assert.Equal(2, Scrape(collector).Samples.Single(s => s.Name == "csidriver_local_loop_devices_in_use").Value);
        devices = 5;
        Assert.Equal(5, Scrape(collector).Samples.Single(s => s.Name == "csidriver_local_loop_devices_in_use").Value);
    }

    [Fact]
    public void A_failing_gauge_callback_does_not_break_the_scrape()
    {
        using var metrics = new DriverMetrics();
        using var collector = new MetricsCollector(metrics, NullLogger<MetricsCollector>.Instance);
        metrics.ObserveLoopDevices(() => throw new IOException("sysfs went away"));
        metrics.RpcStarted("Probe");
        metrics.RpcFinished("Probe", "OK", TimeSpan.Zero);

        var (_, samples) = Scrape(collector);

        Assert.Contains(samples, s => s.Name == "csidriver_csi_rpc_requests_total");
    }

    [Fact]
    public void Two_driver_instances_in_one_process_do_not_see_each_others_measurements()
    {
        using var first = new DriverMetrics();
        using var second = new DriverMetrics();
        using var firstCollector = new MetricsCollector(first, NullLogger<MetricsCollector>.Instance);
        using var secondCollector = new MetricsCollector(second, NullLogger<MetricsCollector>.Instance);

        first.RpcStarted("Probe");
        first.RpcFinished("Probe", "OK", TimeSpan.Zero);

        Assert.Contains(Scrape(firstCollector).Samples, s => s.Name == "csidriver_csi_rpc_requests_total");
        Assert.DoesNotContain(Scrape(secondCollector).Samples, s => s.Name == "csidriver_csi_rpc_requests_total");
    }

    [Fact]
    public void Instruments_added_to_the_meter_later_are_exported_too()
    {
        using var metrics = new DriverMetrics();
        using var collector = new MetricsCollector(metrics, NullLogger<MetricsCollector>.Instance);

        var counter = metrics.Meter.CreateCounter<int>("mount_retries", description: "Mount retries.");
        counter.Add(2, new KeyValuePair<string, object?>("fs", "ext4"));
        var gauge = metrics.Meter.CreateUpDownCounter<double>("format.in_progress");
        gauge.Add(1.5);

        var (types, samples) = Scrape(collector);

        Assert.Equal("counter", types["csidriver_mount_retries_total"]);
        Assert.Equal(2, samples.Single(s => s.Name == "csidriver_mount_retries_total" && s.Label("fs") == "ext4").Value);
        Assert.Equal(1.5, samples.Single(s => s.Name == "csidriver_format_in_progress").Value);
    }

    [Fact]
    public void Concurrent_recording_loses_no_measurement()
    {
        using var metrics = new DriverMetrics();
        using var collector = new MetricsCollector(metrics, NullLogger<MetricsCollector>.Instance);

        Parallel.For(0, 4000, i =>
        {
            metrics.RpcStarted("NodeStageVolume");
            metrics.RpcFinished("NodeStageVolume", "OK", TimeSpan.FromMilliseconds(i % 50));
            if (i % 100 == 0)
            {
                collector.Scrape();
            }
        });

        var (_, samples) = Scrape(collector);
        Assert.Equal(4000, samples.Single(s => s.Name == "csidriver_csi_rpc_requests_total").Value);
        Assert.Equal(4000, samples.Single(s => s.Name == "csidriver_csi_rpc_duration_seconds_count").Value);
        Assert.Equal(0, samples.Single(s => s.Name == "csidriver_csi_rpc_in_flight").Value);
    }
}
