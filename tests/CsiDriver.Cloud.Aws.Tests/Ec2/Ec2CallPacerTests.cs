using CsiDriver.Cloud.Aws.Ec2;

namespace CsiDriver.Cloud.Aws.Tests.Ec2;

/// <summary>
/// The pacer's buckets without a timer: tokens come only when a test calls Replenish (a refill then adds what the
/// time since the last one earned), so no "must wait" assertion depends on how fast the machine is.
/// </summary>
[Trait("Category", "Unit")]
public sealed class Ec2CallPacerTests
{
    [Fact]
    public async Task A_burst_passes_at_once_and_the_rest_wait_for_the_refill()
    {
        using var pacer = new Ec2CallPacer(new Dictionary<string, (int, int)> { ["AttachVolume"] = (3, 5) }, autoReplenish: false);

        var burst = Enumerable.Range(0, 3).Select(_ => pacer.WaitAsync("AttachVolume", CancellationToken.None)).ToList();
        var fourth = pacer.WaitAsync("AttachVolume", CancellationToken.None).AsTask();

        Assert.All(burst, b => Assert.True(b.IsCompletedSuccessfully, "a call within the burst must not wait"));
        Assert.False(fourth.IsCompleted, "the fourth call must wait for the bucket to refill");
        (await ReplenishUntilAsync(pacer, fourth))?.Dispose();
        foreach (var b in burst)
        {
            (await b)?.Dispose();
        }
    }

    [Fact]
    public async Task Describe_actions_share_one_bucket_and_unknown_actions_are_not_paced()
    {
        using var pacer = new Ec2CallPacer(new Dictionary<string, (int, int)> { ["Describe"] = (1, 1) }, autoReplenish: false);

        using (await pacer.WaitAsync("DescribeVolumes", CancellationToken.None))
        {
        }
        var next = pacer.WaitAsync("DescribeSnapshots", CancellationToken.None).AsTask();
        var unpaced = await pacer.WaitAsync("CreateTags", CancellationToken.None);

        Assert.Null(unpaced);
        Assert.False(next.IsCompleted, "DescribeSnapshots should wait: DescribeVolumes took the shared bucket's only token");
        (await ReplenishUntilAsync(pacer, next))?.Dispose();
    }

    [Fact]
    public async Task A_cancelled_wait_gives_up()
    {
        using var pacer = new Ec2CallPacer(new Dictionary<string, (int, int)> { ["ModifyVolume"] = (1, 1) }, autoReplenish: false);
        using (await pacer.WaitAsync("ModifyVolume", CancellationToken.None))
        {
        }
        using var cts = new CancellationTokenSource();
        var waiting = pacer.WaitAsync("ModifyVolume", cts.Token).AsTask();
        Assert.False(waiting.IsCompleted);

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }

    [Theory]
    [InlineData(20, 200, 4)]
    [InlineData(5, 200, 1)]
    [InlineData(1, 1000, 1)]
    [InlineData(2, 500, 1)]
    [InlineData(8, 125, 1)]
    public void Every_refill_rate_is_kept_exactly(int perSecond, int expectedPeriodMs, int expectedTokens)
    {
        var options = Ec2CallPacer.OptionsFor("Describe", 10, perSecond);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedPeriodMs), options.ReplenishmentPeriod);
        Assert.Equal(expectedTokens, options.TokensPerPeriod);
        Assert.Equal(perSecond, options.TokensPerPeriod * (TimeSpan.FromSeconds(1) / options.ReplenishmentPeriod), precision: 9);
        Assert.Equal(10, options.TokenLimit);
        Assert.True(options.AutoReplenishment);
    }

    [Theory]
    [InlineData(0, 5)]
    [InlineData(5, 0)]
    public void A_bucket_without_burst_or_refill_is_refused(int burst, int perSecond)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Ec2CallPacer.OptionsFor("AttachVolume", burst, perSecond));
        Assert.Contains("AttachVolume", error.Message);
    }

    [Fact]
    public void The_defaults_are_EC2s_documented_buckets()
    {
        Assert.Equal((100, 20), Ec2CallPacer.Ec2Defaults["Describe"]);
        Assert.Equal((100, 5), Ec2CallPacer.Ec2Defaults["CreateVolume"]);
        Assert.Equal((50, 5), Ec2CallPacer.Ec2Defaults["AttachVolume"]);
        Assert.Equal((50, 5), Ec2CallPacer.Ec2Defaults["ModifyVolume"]);
    }

    private static async Task<IDisposable?> ReplenishUntilAsync(Ec2CallPacer pacer, Task<IDisposable?> waiting)
    {
        for (var i = 0; i < 300 && !waiting.IsCompleted; i++)
        {
            pacer.Replenish();
            await Task.Delay(100);
        }
        Assert.True(waiting.IsCompleted, "refills never let the waiting call through");
        return await waiting;
    }
}
