using System.Diagnostics.Metrics;
using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Observability;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace CsiDriver.Cloud.Aws.Tests.Ec2;

[Trait("Category", "Unit")]
public sealed class Ec2CallerTests
{
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();

        public Recorder(DriverMetrics metrics)
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter == metrics.Meter && instrument.Name.StartsWith("cloud_api_", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) =>
            {
                var map = new Dictionary<string, string?>();
                foreach (var tag in tags)
                {
                    map[tag.Key] = tag.Value?.ToString();
                }
                lock (Events)
                {
                    Events.Add((instrument.Name, map));
                }
            });
            _listener.Start();
        }

        public List<(string Name, Dictionary<string, string?> Tags)> Events { get; } = [];

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task Records_each_call_with_backend_action_and_error_code()
    {
        using var metrics = new DriverMetrics();
        using var recorder = new Recorder(metrics);
        var ec2 = new Mock<IAmazonEC2>();
        ec2.Setup(c => c.DeleteVolumeAsync(It.IsAny<DeleteVolumeRequest>(), It.IsAny<CancellationToken>())).ReturnsAsync(new DeleteVolumeResponse());
        ec2.Setup(c => c.DetachVolumeAsync(It.IsAny<DetachVolumeRequest>(), It.IsAny<CancellationToken>())).ThrowsAsync(Ec2Mock.Error("RequestLimitExceeded"));
        var caller = new Ec2Caller(ec2.Object, metrics, NullLogger<Ec2Caller>.Instance);

        await caller.CallAsync("DeleteVolume", (c, t) => c.DeleteVolumeAsync(new DeleteVolumeRequest(), t), CancellationToken.None);
        var error = await Assert.ThrowsAsync<StorageException>(() =>
            caller.CallAsync("DetachVolume", (c, t) => c.DetachVolumeAsync(new DetachVolumeRequest(), t), CancellationToken.None));

        Assert.Equal(FailureKind.Unavailable, error.Kind);
        lock (recorder.Events)
        {
            Assert.Contains(recorder.Events, e => e.Name == "cloud_api_calls" && e.Tags["backend"] == "aws" && e.Tags["action"] == "DeleteVolume");
            Assert.Contains(recorder.Events, e => e.Name == "cloud_api_errors" && e.Tags["action"] == "DetachVolume" && e.Tags["code"] == "RequestLimitExceeded");
            Assert.Contains(recorder.Events, e => e.Name == "cloud_api_throttled" && e.Tags["action"] == "DetachVolume");
            Assert.DoesNotContain(recorder.Events, e => e.Name == "cloud_api_errors" && e.Tags["action"] == "DeleteVolume");
        }
    }

    [Fact]
    public async Task Caller_cancellation_is_not_mapped()
    {
        using var metrics = new DriverMetrics();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var ec2 = new Mock<IAmazonEC2>();
        ec2.Setup(c => c.DeleteVolumeAsync(It.IsAny<DeleteVolumeRequest>(), It.IsAny<CancellationToken>())).ThrowsAsync(new OperationCanceledException(cts.Token));
        var caller = new Ec2Caller(ec2.Object, metrics, NullLogger<Ec2Caller>.Instance);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            caller.CallAsync("DeleteVolume", (c, t) => c.DeleteVolumeAsync(new DeleteVolumeRequest(), t), cts.Token));
    }
}
