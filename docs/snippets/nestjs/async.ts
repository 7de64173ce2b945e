import { Injectable, Module } from '@nestjs/common';
import { refreshToken } from '@tokenkeeper/auth-core';
import { TokenKeeperModule } from '@tokenkeeper/nestjs';

/** Your configuration (here from the environment; @nestjs/config's ConfigService fits the same way). */
@Injectable()
export class Settings {
  get(name: 'UPSTREAM_URL' | 'COOKIE_SECRET'): string {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  }
}

@Module({ providers: [Settings], exports: [Settings] })
export class SettingsModule {}

@Module({
  imports: [
    TokenKeeperModule.forRootAsync({
      imports: [SettingsModule],
      inject: [Settings],
      useFactory: (settings: Settings) => ({
        keeperOptions: { protocol: refreshToken({ baseUrl: settings.get('UPSTREAM_URL') }) },
        cookie: { secret: settings.get('COOKIE_SECRET') },
      }),
    }),
  ],
})
export class AppModule {}
