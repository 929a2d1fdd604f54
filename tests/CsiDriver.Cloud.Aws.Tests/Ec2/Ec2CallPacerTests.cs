using System.Diagnostics;
using CsiDriver.Cloud.Aws.Ec2;

namespace CsiDriver.Cloud.Aws.Tests.Ec2;

public sealed class Ec2CallPacerTests
{
    [Fact]
    public async Task A_burst_passes_at_once_and_the_rest_wait_for_the_refill()
    {
        using var pacer = new Ec2CallPacer(new Dictionary<string, (int, int)> { ["AttachVolume"] = (3, 5) });

        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < 3; i++)
        {
            using var _ = await pacer.WaitAsync("AttachVolume", CancellationToken.None);
        }
        var burst = Stopwatch.GetElapsedTime(started);
        using (await pacer.WaitAsync("AttachVolume", CancellationToken.None))
        {
        }
        var fourth = Stopwatch.GetElapsedTime(started);

        Assert.True(burst < TimeSpan.FromMilliseconds(150), $"the burst waited {burst}");
        Assert.True(fourth >= TimeSpan.FromMilliseconds(100), $"the fourth call did not wait for a refill ({fourth})");
    }

    [Fact]
    public async Task Describe_actions_share_one_bucket_and_unknown_actions_are_not_paced()
    {
        using var pacer = new Ec2CallPacer(new Dictionary<string, (int, int)> { ["Describe"] = (1, 1) });

        using (await pacer.WaitAsync("DescribeVolumes", CancellationToken.None))
        {
        }
        var next = pacer.WaitAsync("DescribeSnapshots", CancellationToken.None).AsTask();
        var unpaced = await pacer.WaitAsync("CreateTags", CancellationToken.None);

        Assert.Null(unpaced);
        Assert.False(next.IsCompleted, "DescribeSnapshots should wait: DescribeVolumes took the shared bucket's only token");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        (await next.WaitAsync(cts.Token))?.Dispose();
    }

    [Fact]
    public async Task A_cancelled_wait_gives_up()
    {
        using var pacer = new Ec2CallPacer(new Dictionary<string, (int, int)> { ["ModifyVolume"] = (1, 1) });
        using (await pacer.WaitAsync("ModifyVolume", CancellationToken.None))
        {
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pacer.WaitAsync("ModifyVolume", cts.Token));
    }

    [Fact]
    public void The_defaults_are_EC2s_documented_buckets()
    {
        Assert.Equal((100, 20), Ec2CallPacer.Ec2Defaults["Describe"]);
        Assert.Equal((100, 5), Ec2CallPacer.Ec2Defaults["CreateVolume"]);
        Assert.Equal((50, 5), Ec2CallPacer.Ec2Defaults["AttachVolume"]);
        Assert.Equal((50, 5), Ec2CallPacer.Ec2Defaults["ModifyVolume"]);
    }
}
