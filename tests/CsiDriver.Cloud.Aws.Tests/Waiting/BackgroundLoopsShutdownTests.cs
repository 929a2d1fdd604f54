using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace CsiDriver.Cloud.Aws.Tests.Waiting;

/// <summary>The host owns the pollers' and the coalescer's loops: stopping it cancels them and waits until they have ended.</summary>
[Trait("Category", "Unit")]
public sealed class BackgroundLoopsShutdownTests
{
    [Fact]
    public async Task Stopping_the_host_with_a_poll_in_flight_cancels_it_fails_its_waiter_and_leaves_no_loop()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddBackgroundLoops();
        using var host = builder.Build();
        await host.StartAsync();
        var loops = host.Services.GetRequiredService<BackgroundLoops>();
        var describing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var describeCancelled = false;
        var poller = new BatchPoller<string>("thing", 10, async (ids, ct) =>
        {
            describing.TrySetResult();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            }
            catch (OperationCanceledException)
            {
                describeCancelled = true;
                throw;
            }
            return new Dictionary<string, string>();
        }, new AwsTuning(), new DriverMetrics(), NullLogger.Instance, loops: loops);

        var waiting = poller.GetAsync("a", CancellationToken.None);
        await describing.Task;
        Assert.Equal(1, loops.RunningCount);

        await host.StopAsync();

        Assert.True(describeCancelled, "the Describe in flight should see the host's stop");
        Assert.Equal(0, loops.RunningCount);
        var failure = await Assert.ThrowsAsync<StorageException>(() => waiting);
        Assert.Equal(FailureKind.Unavailable, failure.Kind);
        var refused = await Assert.ThrowsAsync<StorageException>(() => poller.GetAsync("b", CancellationToken.None));
        Assert.Equal(FailureKind.Unavailable, refused.Kind);
    }

    [Fact]
    public async Task Stopping_with_a_ModifyVolume_in_flight_fails_the_batch_with_unavailable_and_leaves_no_loop()
    {
        using var ec2 = new Ec2Mock();
        ec2.AddVolume("vol-1", 10);
        var modifying = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ec2.Mock.Setup(c => c.ModifyVolumeAsync(It.IsAny<ModifyVolumeRequest>(), It.IsAny<CancellationToken>()))
            .Returns(async (ModifyVolumeRequest _, CancellationToken ct) =>
            {
                modifying.TrySetResult();
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
                return new ModifyVolumeResponse();
            });
        var loops = new BackgroundLoops();
        var pollers = new Ec2Pollers(ec2.Caller, ec2.Tuning, ec2.Metrics, NullLogger<Ec2Pollers>.Instance, loops: loops);
        var coalescer = new ModificationCoalescer(ec2.Caller, pollers,
            Microsoft.Extensions.Options.Options.Create(new AwsBackendOptions { Tuning = ec2.Tuning }), NullLogger<ModificationCoalescer>.Instance, loops);

        var modify = coalescer.SubmitAsync("vol-1", new ModifyTarget(SizeGiB: 20), CancellationToken.None);
        await modifying.Task;

        await loops.StopAsync(CancellationToken.None);

        Assert.Equal(0, loops.RunningCount);
        var failure = await Assert.ThrowsAsync<StorageException>(() => modify);
        Assert.Equal(FailureKind.Unavailable, failure.Kind);
        Assert.Contains("shutting down", failure.Message, StringComparison.Ordinal);
    }
}
