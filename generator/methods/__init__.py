"""Install methods: one module + its templates each.

``registry`` lists them (the only module that names every method); ``protocol`` declares
what the rest of the generator may ask of a tool; ``base.ToolBase`` gives every hook a
default; ``context.RenderContext`` is what a hook may ask about the build; ``data`` holds
the frozen values the hooks hand out. This package imports none of them itself, so a
method importing ``generator.methods.base`` does not load every other method.
"""
