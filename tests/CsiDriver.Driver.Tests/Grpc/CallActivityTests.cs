using CsiDriver.Driver.Grpc;
using Microsoft.Extensions.Time.Testing;

namespace CsiDriver.Driver.Tests.Grpc;

/// <summary>When the driver counts as quiet (<see cref="CallActivity"/>), on a fake clock.</summary>
[Trait("Category", "Unit")]
public sealed class CallActivityTests
{
    private static readonly TimeSpan QuietFor = TimeSpan.FromSeconds(2);

    private readonly FakeTimeProvider _time = new();

    [Fact]
    public async Task Start_up_counts_as_work_so_the_driver_is_quiet_only_after_the_quiet_time()
    {
        var activity = new CallActivity(_time);

        var quiet = activity.WaitForQuietAsync(QuietFor, CancellationToken.None);
        _time.Advance(QuietFor - TimeSpan.FromMilliseconds(1));
        await Task.Delay(50);
        Assert.False(quiet.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, await quiet.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
    }

    [Fact]
    public async Task A_call_in_flight_keeps_the_driver_busy_however_long_it_runs_and_the_quiet_time_counts_from_its_end()
    {
        var activity = new CallActivity(_time);
        activity.CallStarted();

        var quiet = activity.WaitForQuietAsync(QuietFor, CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(50);
        Assert.False(quiet.IsCompleted);

        activity.CallEnded();
        _time.Advance(QuietFor - TimeSpan.FromMilliseconds(1));
        await Task.Delay(50);
        Assert.False(quiet.IsCompleted);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, await quiet.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
    }

    [Fact]
    public async Task Overlapping_calls_keep_it_busy_until_the_last_one_ends()
    {
        var activity = new CallActivity(_time);
        activity.CallStarted();
        activity.CallStarted();
        activity.CallEnded();

        var quiet = activity.WaitForQuietAsync(QuietFor, CancellationToken.None);
        _time.Advance(QuietFor * 3);
        await Task.Delay(50);
        Assert.False(quiet.IsCompleted);

        activity.CallEnded();
        _time.Advance(QuietFor);
        Assert.Equal(2, await quiet.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
    }

    [Fact]
    public async Task Waiting_for_new_work_ends_only_when_a_call_starts_after_the_count_given()
    {
        var activity = new CallActivity(_time);
        activity.CallStarted();
        activity.CallEnded();

        var next = activity.WaitForCallAfterAsync(1, CancellationToken.None);
        _time.Advance(TimeSpan.FromHours(1));
        await Task.Delay(50);
        Assert.False(next.IsCompleted);
        Assert.True(activity.WaitForCallAfterAsync(0, CancellationToken.None).IsCompleted);

        activity.CallStarted();
        await next.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal(2, activity.CallsStarted);
    }

    [Fact]
    public async Task A_cancelled_wait_ends_with_cancellation()
    {
        var activity = new CallActivity(_time);
        activity.CallStarted();
        using var cancel = new CancellationTokenSource();

        var quiet = activity.WaitForQuietAsync(QuietFor, cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => quiet.WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None));
    }

    [Theory]
    [InlineData("/csi.v1.Identity/Probe", false)]
    [InlineData("/csi.v1.Identity/GetPluginInfo", false)]
    [InlineData("/csi.v1.Node/NodeStageVolume", true)]
    [InlineData("/csi.v1.Controller/CreateVolume", true)]
    [InlineData("/csi.v1.GroupController/CreateVolumeGroupSnapshot", true)]
    public void Identity_calls_are_not_work(string method, bool work) => Assert.Equal(work, CallActivity.IsWork(method));
}
