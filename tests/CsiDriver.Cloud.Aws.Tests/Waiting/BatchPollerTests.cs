using System.Diagnostics.Metrics;
using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Observability;
using Moq;

namespace CsiDriver.Cloud.Aws.Tests.Waiting;

[Trait("Category", "Unit")]
public sealed class BatchPollerTests
{
    private static AwsTuning SlowFirstPoll() => new()
    {
        // Long enough that every waiter below registers before the first Describe.
        PollInitialInterval = TimeSpan.FromMilliseconds(300),
        PollMaxInterval = TimeSpan.FromMilliseconds(300),
        NotFoundGrace = TimeSpan.FromSeconds(5),
        WaitTimeout = TimeSpan.FromSeconds(30),
    };

    [Theory]
    [InlineData(1)]
    [InlineData(150)]
    [InlineData(500)]
    public async Task Folds_concurrent_waiters_into_ceil_n_over_limit_describe_calls(int waiters)
    {
        using var ec2 = new Ec2Mock(SlowFirstPoll());
        for (var i = 0; i < waiters; i++)
        {
            ec2.AddVolume($"vol-{i}");
        }

        var waits = Enumerable.Range(0, waiters)
            .Select(i => ec2.Pollers.Volumes.WaitAsync($"vol-{i}", v => v?.State == VolumeState.Available, new WaitSpec($"vol-{i}"), CancellationToken.None))
            .ToList();
        var results = await Task.WhenAll(waits);

        Assert.All(results, v => Assert.NotNull(v));
        var limit = (waiters + Ec2Pollers.MaxIdsPerCall - 1) / Ec2Pollers.MaxIdsPerCall;
        Assert.InRange(ec2.Calls("DescribeVolumes"), 1, limit);
        // Ids travel as a filter, never as VolumeIds (one unknown id would fail the whole call).
        Assert.All(ec2.Mock.Invocations.Where(i => i.Method.Name == "DescribeVolumesAsync"),
            i => Assert.Null(((DescribeVolumesRequest)i.Arguments[0]!).VolumeIds));
    }

    [Fact]
    public async Task Waiters_that_need_several_rounds_share_each_round()
    {
        using var ec2 = new Ec2Mock(SlowFirstPoll());
        ec2.Tuning.PollInitialInterval = TimeSpan.FromMilliseconds(50);
        ec2.Tuning.PollMaxInterval = TimeSpan.FromMilliseconds(50);
        for (var i = 0; i < 40; i++)
        {
            ec2.AddVolume($"vol-{i}").State = VolumeState.Creating;
        }
        var describes = 0;
        ec2.Mock.Setup(c => c.DescribeVolumesAsync(It.IsAny<DescribeVolumesRequest>(), It.IsAny<CancellationToken>()))
            .Returns((DescribeVolumesRequest r, CancellationToken _) =>
            {
                // Everything becomes available on the third Describe.
                if (Interlocked.Increment(ref describes) >= 3)
                {
                    foreach (var v in ec2.Volumes.Values)
                    {
                        v.State = VolumeState.Available;
                    }
                }
                var ids = r.Filters[0].Values;
                return Task.FromResult(new DescribeVolumesResponse { Volumes = [.. ec2.Volumes.Values.Where(v => ids.Contains(v.VolumeId))] });
            });

        await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            ec2.Pollers.Volumes.WaitAsync($"vol-{i}", v => v?.State == VolumeState.Available, new WaitSpec("x"), CancellationToken.None)));

        // 40 waiters × 3 rounds would be 120 calls without folding.
        Assert.InRange(describes, 3, 8);
    }

    [Fact]
    public async Task A_call_made_for_one_waiter_carries_the_waiters_not_due_yet()
    {
        // The wait is not due for a minute: only the Get's call can resolve it before the test's bound.
        using var ec2 = new Ec2Mock(new AwsTuning { PollInitialInterval = TimeSpan.FromMinutes(1), PollMaxInterval = TimeSpan.FromMinutes(1) });
        ec2.AddVolume("vol-waiting");
        ec2.AddVolume("vol-got");
        var wait = ec2.Pollers.Volumes.WaitAsync("vol-waiting", v => v?.State == VolumeState.Available, new WaitSpec("vol-waiting"), CancellationToken.None);

        var got = await ec2.Pollers.Volumes.GetAsync("vol-got", CancellationToken.None);

        Assert.NotNull(got);
        Assert.Equal("vol-waiting", (await wait.WaitAsync(TimeSpan.FromSeconds(30)))!.VolumeId);
        Assert.Equal(1, ec2.Calls("DescribeVolumes"));
    }

    [Fact]
    public async Task A_read_within_a_window_rides_on_a_call_made_in_it()
    {
        using var ec2 = new Ec2Mock(new AwsTuning { PollInitialInterval = TimeSpan.FromMinutes(1), PollMaxInterval = TimeSpan.FromMinutes(1) });
        ec2.AddVolume("vol-read");
        ec2.AddVolume("vol-got");
        var read = ec2.Pollers.Volumes.GetAsync("vol-read", TimeSpan.FromMinutes(1), CancellationToken.None);

        await ec2.Pollers.Volumes.GetAsync("vol-got", CancellationToken.None);

        Assert.Equal("vol-read", (await read.WaitAsync(TimeSpan.FromSeconds(30)))!.VolumeId);
        Assert.Equal(1, ec2.Calls("DescribeVolumes"));
    }

    [Fact]
    public async Task Not_found_right_after_create_is_not_gone()
    {
        using var ec2 = new Ec2Mock();
        // A grace far longer than the three empty answers take, however slow the machine.
        ec2.Tuning.NotFoundGrace = TimeSpan.FromSeconds(30);
        var describes = 0;
        ec2.Mock.Setup(c => c.DescribeVolumesAsync(It.IsAny<DescribeVolumesRequest>(), It.IsAny<CancellationToken>()))
            .Returns((DescribeVolumesRequest r, CancellationToken _) =>
            {
                // EC2's read path sees the new volume only from the fourth Describe on.
                var visible = Interlocked.Increment(ref describes) >= 4;
                return Task.FromResult(new DescribeVolumesResponse
                {
                    Volumes = visible ? [new Volume { VolumeId = "vol-new", State = VolumeState.Available }] : [],
                });
            });

        var volume = await ec2.Pollers.Volumes.WaitAsync("vol-new", v => v is not null ? v.State == VolumeState.Available : throw StorageException.NotFound("gone"),
            new WaitSpec("vol-new", RecentlyCreated: true), CancellationToken.None);

        Assert.Equal("vol-new", volume!.VolumeId);
        Assert.True(describes >= 4);
    }

    [Fact]
    public async Task Not_found_after_the_grace_window_reaches_the_condition()
    {
        using var ec2 = new Ec2Mock();
        ec2.Tuning.NotFoundGrace = TimeSpan.FromMilliseconds(50);

        var error = await Assert.ThrowsAsync<StorageException>(() => ec2.Pollers.Volumes.WaitAsync("vol-never",
            v => v is not null ? true : throw StorageException.NotFound("vol-never is gone"), new WaitSpec("vol-never", RecentlyCreated: true), CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task Get_of_unknown_id_is_null_without_a_grace_window()
    {
        using var ec2 = new Ec2Mock();

        Assert.Null(await ec2.Pollers.Volumes.GetAsync("vol-unknown", CancellationToken.None));
    }

    [Fact]
    public async Task Throttled_describe_delays_waiters_instead_of_failing_them()
    {
        using var ec2 = new Ec2Mock();
        ec2.AddVolume("vol-1");
        ec2.DescribeVolumesError = Ec2Mock.Error("RequestLimitExceeded");

        var wait = ec2.Pollers.Volumes.GetAsync("vol-1", CancellationToken.None);
        await Task.Delay(100);
        Assert.False(wait.IsCompleted);
        ec2.DescribeVolumesError = null;

        Assert.NotNull(await wait);
        Assert.True(ec2.Calls("DescribeVolumes") >= 2);
    }

    [Fact]
    public async Task Permission_error_fails_the_waiters()
    {
        using var ec2 = new Ec2Mock();
        ec2.DescribeVolumesError = Ec2Mock.Error("UnauthorizedOperation");

        var error = await Assert.ThrowsAsync<StorageException>(() => ec2.Pollers.Volumes.GetAsync("vol-1", CancellationToken.None));

        Assert.Equal(FailureKind.PermissionDenied, error.Kind);
        Assert.Contains("ec2:DescribeVolumes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelled_waiter_leaves_and_the_others_continue()
    {
        using var ec2 = new Ec2Mock();
        ec2.AddVolume("vol-1").State = VolumeState.Creating;
        using var cts = new CancellationTokenSource();

        var cancelled = ec2.Pollers.Volumes.WaitAsync("vol-1", v => v?.State == VolumeState.Available, new WaitSpec("a"), cts.Token);
        var other = ec2.Pollers.Volumes.WaitAsync("vol-1", v => v?.State == VolumeState.Available, new WaitSpec("b"), CancellationToken.None);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        ec2.Volumes["vol-1"].State = VolumeState.Available;
        Assert.NotNull(await other);
        Assert.Equal(0, ec2.Pollers.Volumes.PendingCount);
    }

    [Fact]
    public async Task Wait_that_never_finishes_times_out_as_unavailable()
    {
        using var ec2 = new Ec2Mock();
        ec2.Tuning.WaitTimeout = TimeSpan.FromMilliseconds(100);
        ec2.AddVolume("vol-1").State = VolumeState.Creating;

        var error = await Assert.ThrowsAsync<StorageException>(() =>
            ec2.Pollers.Volumes.WaitAsync("vol-1", v => v?.State == VolumeState.Available, new WaitSpec("volume vol-1 to become available"), CancellationToken.None));

        Assert.Equal(FailureKind.Unavailable, error.Kind);
        Assert.Contains("volume vol-1 to become available", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_batch_is_recorded_with_its_waiter_count()
    {
        using var metrics = new DriverMetrics();
        var batches = new List<long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == metrics.Meter && instrument.Name == "poller_batch_size")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            lock (batches)
            {
                batches.Add(value);
            }
        });
        listener.Start();
        var describe = new BatchDescribe<string>((ids, _) => Task.FromResult<IReadOnlyDictionary<string, string>>(ids.ToDictionary(i => i, i => i)));
        var poller = new BatchPoller<string>("thing", 10, describe, SlowFirstPoll(), metrics, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        await Task.WhenAll(Enumerable.Range(0, 25).Select(i => poller.WaitAsync($"t{i}", s => s is not null, new WaitSpec("t"), CancellationToken.None)));

        lock (batches)
        {
            Assert.Equal(25, batches.Sum());
            Assert.All(batches, b => Assert.InRange(b, 1, 10));
        }
    }
}
