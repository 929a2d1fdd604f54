using CsiDriver.Core.Observability;
using CsiDriver.Host.Observability;

namespace CsiDriver.Host.Tests.Observability;

/// <summary>What the metrics export makes of the driver's instruments, scraped over HTTP.</summary>
[Trait("Category", "Unit")]
public sealed class MetricsExportTests
{
    [Fact]
    public async Task Rpc_counts_latency_and_in_flight_are_exposed_per_method_and_code()
    {
        using var metrics = new DriverMetrics();
        await using var collector = await MetricsExportHost.StartAsync(metrics);

        metrics.RpcStarted("CreateVolume");
        metrics.RpcFinished("CreateVolume", "OK", TimeSpan.FromMilliseconds(30));
        metrics.RpcStarted("CreateVolume");
        metrics.RpcFinished("CreateVolume", "Aborted", TimeSpan.FromSeconds(2));
        metrics.RpcStarted("CreateVolume");
        metrics.RpcStarted("DeleteVolume");
        metrics.RpcFinished("DeleteVolume", "OK", TimeSpan.FromSeconds(700));

        var (types, samples) = (await collector.ScrapeAsync());

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
    public async Task Cloud_calls_errors_and_throttles_are_counted_by_action_and_code()
    {
        using var metrics = new DriverMetrics();
        await using var collector = await MetricsExportHost.StartAsync(metrics);

        metrics.CloudCall("aws", "CreateVolume", TimeSpan.FromMilliseconds(120), null, throttled: false);
        metrics.CloudCall("aws", "CreateVolume", TimeSpan.FromMilliseconds(80), "RequestLimitExceeded", throttled: true);
        metrics.CloudCall("aws", "AttachVolume", TimeSpan.FromMilliseconds(80), "VolumeInUse", throttled: false);

        var (types, samples) = (await collector.ScrapeAsync());

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
    public async Task Poller_batch_sizes_use_size_buckets_with_inclusive_upper_bounds()
    {
        using var metrics = new DriverMetrics();
        await using var collector = await MetricsExportHost.StartAsync(metrics);

        metrics.PollerBatch("volume", 1);
        metrics.PollerBatch("volume", 5);
        metrics.PollerBatch("volume", 6);
        metrics.PollerBatch("volume", 1000);

        var (_, samples) = (await collector.ScrapeAsync());
        var buckets = samples.Where(s => s.Name == "csidriver_poller_batch_size_bucket").ToDictionary(s => s.Label("le"), s => s.Value);

        Assert.Equal(MetricsExport.SizeBuckets.Length + 1, buckets.Count);
        Assert.Equal(1, buckets["1"]);
        Assert.Equal(2, buckets["5"]);
        Assert.Equal(3, buckets["10"]);
        Assert.Equal(3, buckets["500"]);
        Assert.Equal(4, buckets["+Inf"]);
        Assert.Equal(1012, samples.Single(s => s.Name == "csidriver_poller_batch_size_sum").Value);
    }

    [Fact]
    public async Task Loop_device_gauge_is_read_at_scrape_time()
    {
        using var metrics = new DriverMetrics();
        await using var collector = await MetricsExportHost.StartAsync(metrics);
        long devices = 2;
        metrics.ObserveLoopDevices(() => devices);

        Assert.Equal(2, (await collector.ScrapeAsync()).Samples.Single(s => s.Name == "csidriver_local_loop_devices_in_use").Value);
        devices = 5;
        Assert.Equal(5, (await collector.ScrapeAsync()).Samples.Single(s => s.Name == "csidriver_local_loop_devices_in_use").Value);
    }

    [Fact]
    public async Task A_failing_gauge_callback_does_not_break_the_scrape()
    {
        using var metrics = new DriverMetrics();
        await using var collector = await MetricsExportHost.StartAsync(metrics);
        metrics.ObserveLoopDevices(() => throw new IOException("sysfs went away"));
        metrics.RpcStarted("Probe");
        metrics.RpcFinished("Probe", "OK", TimeSpan.Zero);

        var (_, samples) = (await collector.ScrapeAsync());

        Assert.Contains(samples, s => s.Name == "csidriver_csi_rpc_requests_total");
    }

    [Fact]
    public async Task Two_driver_instances_in_one_process_do_not_see_each_others_measurements()
    {
        using var first = new DriverMetrics();
        using var second = new DriverMetrics();
        await using var firstCollector = await MetricsExportHost.StartAsync(first);
        await using var secondCollector = await MetricsExportHost.StartAsync(second);

        first.RpcStarted("Probe");
        first.RpcFinished("Probe", "OK", TimeSpan.Zero);

        Assert.Contains((await firstCollector.ScrapeAsync()).Samples, s => s.Name == "csidriver_csi_rpc_requests_total");
        Assert.DoesNotContain((await secondCollector.ScrapeAsync()).Samples, s => s.Name == "csidriver_csi_rpc_requests_total");
    }

    [Fact]
    public async Task Instruments_added_to_the_meter_later_are_exported_too()
    {
        using var metrics = new DriverMetrics();
        await using var collector = await MetricsExportHost.StartAsync(metrics);

        var counter = metrics.Meter.CreateCounter<int>("mount_retries", description: "Mount retries.");
        counter.Add(2, new KeyValuePair<string, object?>("fs", "ext4"));
        var gauge = metrics.Meter.CreateUpDownCounter<double>("format.in_progress");
        gauge.Add(1.5);

        var (types, samples) = (await collector.ScrapeAsync());

        Assert.Equal("counter", types["csidriver_mount_retries_total"]);
        Assert.Equal(2, samples.Single(s => s.Name == "csidriver_mount_retries_total" && s.Label("fs") == "ext4").Value);
        Assert.Equal(1.5, samples.Single(s => s.Name == "csidriver_format_in_progress").Value);
    }

    [Fact]
    public async Task Concurrent_recording_loses_no_measurement()
    {
        using var metrics = new DriverMetrics();
        await using var collector = await MetricsExportHost.StartAsync(metrics);

        await Parallel.ForAsync(0, 4000, async (i, _) =>
        {
            metrics.RpcStarted("NodeStageVolume");
            metrics.RpcFinished("NodeStageVolume", "OK", TimeSpan.FromMilliseconds(i % 50));
            if (i % 100 == 0)
            {
                await collector.ScrapeAsync();
            }
        });

        var (_, samples) = (await collector.ScrapeAsync());
        Assert.Equal(4000, samples.Single(s => s.Name == "csidriver_csi_rpc_requests_total").Value);
        Assert.Equal(4000, samples.Single(s => s.Name == "csidriver_csi_rpc_duration_seconds_count").Value);
        Assert.Equal(0, samples.Single(s => s.Name == "csidriver_csi_rpc_in_flight").Value);
    }
}
