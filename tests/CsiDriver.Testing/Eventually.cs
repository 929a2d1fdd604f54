using Xunit;

namespace CsiDriver.Testing;

/// <summary>
/// Waits for something the code under test brings about on its own time. The bound is far above any real wait,
/// so a slow CI machine cannot trip it; only a condition that never holds fails.
/// </summary>
public static class Eventually
{
    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        Assert.True(condition(), $"never happened: {what}");
    }

    /// <summary>Asks until the probe answers with a value (not null) and returns it.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T?>> probe, string what, TimeSpan? within = null) where T : class
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }
            Assert.True(DateTime.UtcNow < deadline, $"never happened: {what}");
            await Task.Delay(10);
        }
    }
}
