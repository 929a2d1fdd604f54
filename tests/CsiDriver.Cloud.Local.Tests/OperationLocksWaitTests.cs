using CsiDriver.Core.Concurrency;

namespace CsiDriver.Cloud.Local.Tests;

/// <summary>
/// OperationLocks.AcquireAsync, the waiting way in that the local backend locks its objects with (pure: no device,
/// no clock; "still waiting" is checked only while the key is provably held).
/// </summary>
[Trait("Category", "Unit")]
public sealed class OperationLocksWaitTests
{
    [Fact]
    public async Task A_waiter_gets_the_key_when_its_holder_lets_go()
    {
        var locks = new OperationLocks();
        var holder = await locks.AcquireAsync(["vol-a"], CancellationToken.None);

        var waiter = locks.AcquireAsync(["vol-a"], CancellationToken.None);
        Assert.False(waiter.IsCompleted);
        Assert.Null(locks.TryAcquire("vol-a"));

        holder.Dispose();
        using (await waiter)
        {
            Assert.Equal(1, locks.Count);
        }
        Assert.Equal(0, locks.Count);
    }

    [Fact]
    public async Task Keys_of_other_objects_do_not_wait()
    {
        var locks = new OperationLocks();
        using var clone = await locks.AcquireAsync(["vol-source", "vol-target"], CancellationToken.None);

        using var other = await locks.AcquireAsync(["vol-other"], CancellationToken.None);

        Assert.Equal(3, locks.Count);
    }

    [Fact]
    public async Task Cancelled_while_waiting_it_gives_back_the_keys_it_had_taken()
    {
        var locks = new OperationLocks();
        using var holder = await locks.AcquireAsync(["vol-b"], CancellationToken.None);
        using var cancel = new CancellationTokenSource();

        var waiter = locks.AcquireAsync(["vol-a", "vol-b"], cancel.Token);
        Assert.False(waiter.IsCompleted);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
        using var a = locks.TryAcquire("vol-a");
        Assert.NotNull(a);
    }

    [Fact]
    public async Task Callers_asking_for_the_same_keys_in_opposite_orders_never_deadlock()
    {
        var locks = new OperationLocks();
        var inside = 0;
        var done = 0;
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            string[] keys = i % 2 == 0 ? ["vol-x", "snap-y", "group-z"] : ["group-z", "snap-y", "vol-x"];
            using (await locks.AcquireAsync(keys, CancellationToken.None))
            {
                // Everyone holds all three keys, so no two are ever inside together.
                Assert.Equal(1, Interlocked.Increment(ref inside));
                await Task.Yield();
                Interlocked.Decrement(ref inside);
                Interlocked.Increment(ref done);
            }
        })));

        Assert.Equal(200, done);
        Assert.Equal(0, locks.Count);
    }
}
