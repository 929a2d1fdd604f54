using CsiDriver.Cloud.Aws.Ec2;

namespace CsiDriver.Cloud.Aws.Tests.Ec2;

public sealed class Ec2CallPacerTests
{
    [Fact]
    public async Task A_burst_passes_at_once_and_the_rest_wait_for_the_refill()
    {
        using var pacer = new Ec2CallPacer(new Dictionary<string, (int, int)> { ["AttachVolume"] = (3, 5) });

        var burst = Enumerable.Range(0, 3).Select(_ => pacer.WaitAsync("AttachVolume", CancellationToken.None)).ToList();
        var fourth = pacer.WaitAsync("AttachVolume", CancellationToken.None).AsTask();

        Assert.All(burst, b => Assert.True(b.IsCompletedSuccessfully, "a call within the burst must not wait"));
        Assert.False(fourth.IsCompleted, "the fourth call must wait for the bucket to refill");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        (await fourth.WaitAsync(cts.Token))?.Dispose();
        foreach (var b in burst)
        {
            (await b)?.Dispose();
        }
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
