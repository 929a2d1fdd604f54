using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CsiDriver.Core;

/// <summary>
/// Registers an options class the driver's way: its values come from the command line (or a test), consumers take
/// <see cref="IOptions{TOptions}"/>, and <typeparamref name="TValidator"/> checks them when the host starts
/// (<c>ValidateOnStart</c>), so a bad value stops the process before the CSI socket listens. No reflection binding:
/// NativeAOT-safe.
/// </summary>
public static class ValidatedOptions
{
    public static OptionsBuilder<TOptions> AddValidatedOptions<
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions,
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(this IServiceCollection services, TOptions values)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        // A closed registration wins over AddOptions' open-generic OptionsFactory<>; the last seed registered wins
        // (a test may register other values after the host's).
        services.RemoveAll<IOptionsFactory<TOptions>>();
        services.AddTransient<IOptionsFactory<TOptions>>(sp => new SeededOptionsFactory<TOptions>(
            values,
            sp.GetServices<IConfigureOptions<TOptions>>(),
            sp.GetServices<IPostConfigureOptions<TOptions>>(),
            sp.GetServices<IValidateOptions<TOptions>>()));
        return services.AddOptions<TOptions>().ValidateOnStart();
    }

    /// <summary>The validator result of a list of problems (empty: success).</summary>
    public static ValidateOptionsResult ToResult(IReadOnlyList<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}
