using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace CsiDriver.Core;

/// <summary>
/// An options factory whose instance starts from given values (the parsed command line) instead of <c>new T()</c>:
/// nothing is copied field by field, and every <c>Configure</c>, <c>PostConfigure</c> and validator registered for
/// <typeparamref name="TOptions"/> still runs on it, as with the default factory.
/// </summary>
internal sealed class SeededOptionsFactory<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions>(
    TOptions seed,
    IEnumerable<IConfigureOptions<TOptions>> setups,
    IEnumerable<IPostConfigureOptions<TOptions>> postConfigures,
    IEnumerable<IValidateOptions<TOptions>> validations)
    : OptionsFactory<TOptions>(setups, postConfigures, validations)
    where TOptions : class
{
    protected override TOptions CreateInstance(string name) => seed;
}
